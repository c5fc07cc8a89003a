import Foundation
import OPECore

/// nginx as a plain reverse proxy in front of one JupyterLab.
struct NginxProxy {
    let process: ChildProcess

    /// - Parameter upstream: `host:port` or `unix:/path/to/socket`.
    static func start(binary: String, folder: String, port: Int, upstream: String, token: String) throws -> NginxProxy {
        try FileManager.default.createDirectory(atPath: folder + "/tmp", withIntermediateDirectories: true)
        let host = upstream
        let config = """
            worker_processes auto;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log warn;
            events { worker_connections 4096; }
            http {
                access_log off;
                client_body_temp_path \(folder)/tmp/body;
                proxy_temp_path \(folder)/tmp/proxy;
                fastcgi_temp_path \(folder)/tmp/fastcgi;
                uwsgi_temp_path \(folder)/tmp/uwsgi;
                scgi_temp_path \(folder)/tmp/scgi;
                map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
                upstream jupyter { server \(host); keepalive 64; }
                server {
                    listen 127.0.0.1:\(port);
                    location /w/ {
                        proxy_pass http://jupyter;
                        proxy_http_version 1.1;
                        proxy_set_header Host $host:$server_port;
                        proxy_set_header Authorization "token \(token)";
                        proxy_set_header Upgrade $http_upgrade;
                        proxy_set_header Connection $connection_upgrade;
                        proxy_read_timeout 3600s;
                    }
                }
            }
            """
        try config.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = try ChildProcess(binary, arguments: ["-p", folder, "-c", folder + "/nginx.conf", "-g", "daemon off; user root;"])
        return NginxProxy(process: process)
    }

    /// CPU seconds of nginx so far: its master and its workers.
    var cpuSeconds: Double {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let workers = entries.compactMap(Int32.init).filter { pid in
            // The parent's pid is the field after the state, after the name's closing parenthesis.
            guard let stat = ProcFile.text("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == process.pid
        }
        return ([process.pid] + workers).map { RSSSampler(pid: $0).cpuSeconds }.reduce(0, +)
    }

    func stop() {
        kill(-process.pid, SIGTERM)
        process.blockUntilExit(within: .seconds(30))
    }
}
