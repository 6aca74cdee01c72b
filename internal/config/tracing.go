package config

// Tracing holds the standard OpenTelemetry variables this service looks at
// to decide whether to export traces; the OTLP exporter reads the others
// (headers, certificates, timeouts, sampler) itself.
type Tracing struct {
	Endpoint       string `env:"OTEL_EXPORTER_OTLP_ENDPOINT"`
	TracesEndpoint string `env:"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"`
	Protocol       string `env:"OTEL_EXPORTER_OTLP_PROTOCOL" envDefault:"http/protobuf"`
	Disabled       bool   `env:"OTEL_SDK_DISABLED" envDefault:"false"`
}

// Enabled reports whether traces are exported: an OTLP endpoint is set and
// the SDK is not disabled.
func (t Tracing) Enabled() bool {
	return !t.Disabled && (t.Endpoint != "" || t.TracesEndpoint != "")
}
