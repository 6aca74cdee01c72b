package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/mux"
)

// TestRequestDeadlines: each kind of route gets its own deadline: the
// request timeout for ordinary calls, the draw timeout for draws, the
// export timeout for streams, and none for probes (they have their own).
func TestRequestDeadlines(t *testing.T) {
	s := &Server{opts: Options{RequestTimeout: 2 * time.Second, DrawTimeout: 5 * time.Minute}}
	r := mux.NewRouter()
	r.Use(s.bound)
	got := map[string]time.Duration{}
	for _, name := range []string{"register", "select_winners", "redraw", "export", "draw_entrants", "health_ready"} {
		r.HandleFunc("/"+name, func(_ http.ResponseWriter, r *http.Request) {
			got[name] = -1
			if d, ok := r.Context().Deadline(); ok {
				got[name] = time.Until(d)
			}
		}).Name(name)
	}
	want := map[string]time.Duration{
		"register": 2 * time.Second, "select_winners": 5 * time.Minute, "redraw": 5 * time.Minute,
		"export": 30 * time.Minute, "draw_entrants": 30 * time.Minute, "health_ready": -1,
	}
	for name, w := range want {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/"+name, nil))
		g := got[name]
		if w < 0 && g >= 0 || w >= 0 && (g > w || g < w-time.Second) {
			t.Errorf("%s: deadline in %v, want %v (-1: none)", name, g, w)
		}
	}
}
