package testenv

// SetTarget points the proxy at another server for the connections it
// accepts from now on, as a Kubernetes Service's address moves to the pod
// that is ready now; connections already open stay with the old target.
// A primary failover behind a stable address is then:
//
//	svc := NewProxy(t, primary.Addr()) // the service connects to primary.URLAt(svc.Addr())
//	primary.Stop(StopImmediate)
//	svc.Stop()                         // no endpoint: connections are refused
//	replica.Promote()
//	svc.SetTarget(replica.Addr())
//	svc.Start()
func (p *Proxy) SetTarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
}

// Target is the server the proxy forwards new connections to.
func (p *Proxy) Target() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.target
}
