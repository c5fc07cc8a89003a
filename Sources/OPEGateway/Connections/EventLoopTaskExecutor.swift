import NIOCore

/// Runs Swift concurrency jobs on one NIO event loop: a connection's task, given this as its
/// executor preference, runs on the thread that reads and writes its socket. A read then hands
/// the request to the task, and the task's writes reach the socket, without waking a thread of
/// the concurrency pool or the loop (each such hop is a futex wake-up and a context switch).
///
/// Only for tasks that never block: anything they run (default actors they call included, which
/// run on a task's preferred executor when they are free) holds up every socket of the loop.
final class EventLoopTaskExecutor: TaskExecutor {
    let loop: any EventLoop

    init(_ loop: any EventLoop) { self.loop = loop }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // On the loop itself this only appends to its queue: no wake-up.
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
