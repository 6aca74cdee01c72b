// Package api holds the JSON bodies of the participant service's API: what
// its callers send and what it answers, written once for the service's
// handlers and for the typed client in pkg/client. The OpenAPI description
// served at /openapi.json stays the published contract; the service's tests
// hold every answer to it. The package imports nothing from the service's
// internals.
//
// Each answer type is named for the OpenAPI schema or response it is
// (CaptchaRequired, Selection, Listing); an answer that wraps one object is
// named for its operation with Response (DrawResponse). Every answer has
// Success. A nil pointer is written as null and a nil slice as null, so the
// service fills the lists that the description says are always arrays.
// Fields are in the order the service writes them.
//
// The service does not decode requests into the request types: it reads
// their fields one by one, so that each bad field gets its own error code.
// The request types are what a Go caller sends, with the names the service
// reads.
//
// Draw records and inclusion proofs are the types of pkg/draw.
package api
