package telemetry

import (
	"context"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TracingOptions configure tracing.
type TracingOptions struct {
	// Enabled exports spans over OTLP; the endpoint, headers and TLS come
	// from the standard OTEL_EXPORTER_OTLP_* variables, which the exporter
	// reads itself.
	Enabled bool
	// Protocol is "grpc" or "http/protobuf" (the default).
	Protocol    string
	ServiceName string
	Version     string
	// Exporter replaces OTLP, for tests.
	Exporter sdktrace.SpanExporter
}

// Tracing is the service's tracer provider and propagator.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	shutdown   func(context.Context) error
}

// NewTracing builds the tracer provider. Without an exporter, spans are
// created but not recorded: trace ids still reach the logs and are passed
// on to upstream services, at almost no cost.
func NewTracing(ctx context.Context, o TracingOptions) (*Tracing, error) {
	// Schemaless, so it merges with the SDK's default resource whatever
	// semantic-convention version that one uses.
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(
		attribute.String("service.name", o.ServiceName), attribute.String("service.version", o.Version)))
	if err != nil {
		res = resource.Default()
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res)}
	switch {
	case o.Exporter != nil:
		// Tests read spans as soon as they end.
		opts = append(opts, sdktrace.WithSyncer(o.Exporter), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	case o.Enabled:
		var exporter sdktrace.SpanExporter
		if o.Protocol == "grpc" {
			exporter, err = otlptracegrpc.New(ctx)
		} else {
			exporter, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		// The sampler follows OTEL_TRACES_SAMPLER, read by the SDK.
		opts = append(opts, sdktrace.WithBatcher(exporter))
	default:
		opts = append(opts, sdktrace.WithSampler(sdktrace.NeverSample()))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	return &Tracing{
		Provider:   tp,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		shutdown:   tp.Shutdown,
	}, nil
}

// Shutdown flushes spans still buffered.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }

// LogHandler adds the trace and span ids of the record's context to every
// log line, so logs and traces join up.
func LogHandler(h slog.Handler) slog.Handler { return traceHandler{h} }

type traceHandler struct{ slog.Handler }

func (t traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return t.Handler.Handle(ctx, r)
}

func (t traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return traceHandler{t.Handler.WithAttrs(attrs)}
}

func (t traceHandler) WithGroup(name string) slog.Handler {
	return traceHandler{t.Handler.WithGroup(name)}
}
