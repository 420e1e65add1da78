/// Every operation of the API, each once, gathered from the resources' files. `openapi.yaml`
/// documents exactly these (a test checks both ways).
extension APIServer {
    static let routes = RouteTable(routes: pageRoutes + serviceRoutes + batchRoutes + queueRoutes + sessionRoutes
        + accessRoutes + doNotCallRoutes + auditRoutes + reportRoutes + metricsRoutes + carrierRoutes)
}
