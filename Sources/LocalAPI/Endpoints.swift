extension LocalAPI {
    /// Every endpoint of the API, in the order docs/api.md lists them. Each resource declares its
    /// endpoints (method, path, permission, query parameters, body, answers, handler) next to its
    /// handlers, in its own file under `Resources/`: adding an endpoint is a change to that file
    /// (and to docs/openapi.yaml, which `OpenAPIContractTests` checks against the declarations).
    static let endpoints: [Endpoint] = SystemHandlers.endpoints + AccessHandlers.endpoints + CatalogueHandlers.endpoints
        + BookingHandlers.endpoints + GuestHandlers.endpoints + ClientHandlers.endpoints + MoneyHandlers.endpoints + RetailHandlers.endpoints + MessagingHandlers.endpoints
        + CalendarFeedHandlers.endpoints + ReportHandlers.endpoints
}
