// Package deploytest holds the tests of the Kubernetes delivery artifacts:
// the Helm chart in charts/participant-service (lint, strict decoding of
// every rendered object into its Kubernetes or prometheus-operator type,
// kubeconform), its alert rules (promtool check and unit tests in
// charts/participant-service/tests), and the binary the Dockerfile builds
// (static, stamped, and runnable as the distroless image runs it; no
// Docker engine is needed).
//
// The tests run the real tools: helm, kubeconform and promtool, which
// .ci/install-tools installs. A missing tool skips its test with a message,
// except with CI=true, where it fails.
package deploytest
