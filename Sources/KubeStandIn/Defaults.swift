import Foundation
import OPECore

/// What the real server fills in for the built-in kinds the operator uses: a new pod is Pending,
/// a service gets a cluster IP, a secret's `stringData` becomes base64 `data`, a namespace is Active.
enum Defaults {
    /// - Parameter services: services created so far, to hand out the next cluster IP.
    static func apply(to object: inout JSONObject, type: ResourceType, created: Bool, services: inout Int) {
        guard type.group.isEmpty else { return }
        switch type.plural {
        case "pods" where created:
            var status = object["status"]?.objectValue ?? [:]
            if status["phase"] == nil { status["phase"] = "Pending" }
            object["status"] = .object(status)
        case "namespaces" where created:
            object["status"] = ["phase": "Active"]
        case "persistentvolumeclaims" where created:
            object["status"] = ["phase": "Pending"]
        case "services" where created:
            var spec = object["spec"]?.objectValue ?? [:]
            if spec["type"] == nil { spec["type"] = "ClusterIP" }
            if spec["clusterIP"] == nil {
                services += 1
                let number = services
                let address = JSONValue.string("10.96.\(number / 250).\(number % 250 + 2)")
                spec["clusterIP"] = address
                spec["clusterIPs"] = [address]
            }
            object["spec"] = .object(spec)
        case "secrets":
            if let strings = object["stringData"]?.objectValue {
                var data = object["data"]?.objectValue ?? [:]
                for (key, value) in strings {
                    data[key] = .string(Data((value.stringValue ?? "").utf8).base64EncodedString())
                }
                object["data"] = .object(data)
                object.removeValue(forKey: "stringData")
            }
            if object["type"] == nil { object["type"] = "Opaque" }
        default: break
        }
    }
}
