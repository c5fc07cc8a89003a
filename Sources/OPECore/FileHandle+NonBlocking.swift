import Foundation

#if canImport(Glibc)
    import Glibc
#endif

extension FileHandle {
    /// Whatever can be read now, without waiting: what is left in a pipe once its writer exited.
    /// A blocking read could wait for ever if a grandchild still holds the pipe open.
    public func readRemainingWithoutBlocking(limit: Int = 1 << 20) -> Data {
        let descriptor = fileDescriptor
        let flags = fcntl(descriptor, F_GETFL)
        _ = fcntl(descriptor, F_SETFL, flags | O_NONBLOCK)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while data.count < limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            data.append(contentsOf: buffer[0..<count])
        }
        return data
    }
}
