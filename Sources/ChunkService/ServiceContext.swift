import Hummingbird

/// The request context of the chunk service: Hummingbird's basics plus the connection the
/// request came on, so a valid token can lift that connection out of the `ConnectionGate`.
struct ServiceContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let connection: ObjectIdentifier

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        connection = ObjectIdentifier(source.channel)
    }
}
