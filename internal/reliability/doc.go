// Package reliability holds the tests that prove the service under faults:
// a database outage, a Redis outage and misbehaving upstreams under load,
// a rolling restart behind a load balancer, and exactly-once draws across
// replicas. They run against the local Postgres and Redis and report their
// figures (RELIABILITY_REPORT=<file> collects them; docs/reliability.md
// holds the last run's).
package reliability
