import Foundation
import Logging
import Metrics
import Prometheus
import Synchronization

/// Process-wide set-up that may happen once: the logging and metrics backends.
enum Observability {
    private static let installed = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Installs the log format and the Prometheus metrics backend, once per process.
    /// - Returns: The registry that `/metrics` renders.
    static func bootstrap(format: LogFormat, level: Logger.Level) -> PrometheusCollectorRegistry {
        let (registry, first) = installed.withLock { installed in
            if let registry = installed { return (registry, false) }
            let registry = PrometheusCollectorRegistry()
            installed = registry
            return (registry, true)
        }
        guard first else { return registry }
        switch format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
