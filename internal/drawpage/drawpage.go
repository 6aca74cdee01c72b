// Package drawpage serves the draw verification page: a static page whose
// script fetches a giveaway's public draw record and proofs and checks
// them in the participant's own browser, so that nobody has to take this
// server's word for the result.
package drawpage

import (
	"embed"
	"io"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// contentSecurityPolicy allows nothing but this server's own script, style
// and API: no inline code, no third-party origins, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// assetPrefix is where the page's scripts and style sheets are served.
const assetPrefix = "/draws/assets/"

// Handler serves the page at /draws/{giveaway_id} and its assets under
// /draws/assets/. A request for an asset that does not exist goes to
// notFound, so that it is answered like any other unknown path (the file
// server's plain-text "404 page not found" is not).
func Handler(notFound http.Handler) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	page, err := fs.ReadFile(sub, "draw.html")
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, assetPrefix); ok {
			serveAsset(w, r, sub, name, notFound)
			return
		}
		setPageHeaders(w.Header())
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(page)
	})
}

// serveAsset serves one file of the embedded tree by its plain name. It
// serves no directory and never redirects, as http.FileServer would for a
// directory or for index.html.
func serveAsset(w http.ResponseWriter, r *http.Request, sub fs.FS, name string, notFound http.Handler) {
	if strings.Contains(name, "/") || !fs.ValidPath(name) {
		notFound.ServeHTTP(w, r)
		return
	}
	f, err := sub.Open(name)
	if err != nil {
		notFound.ServeHTTP(w, r)
		return
	}
	defer f.Close()
	info, err := f.Stat()
	rs, seekable := f.(io.ReadSeeker)
	if err != nil || !info.Mode().IsRegular() || !seekable {
		notFound.ServeHTTP(w, r)
		return
	}
	setPageHeaders(w.Header())
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeContent(w, r, name, info.ModTime(), rs)
}

func setPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
}

// notFoundPage is what a browser shows for an address under /draws/ that
// is not a draw page, instead of a raw JSON error.
const notFoundPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>Page not found · Telegive</title>
<link rel="stylesheet" href="/draws/assets/style.css">
</head>
<body>
<header class="masthead">
  <p class="brand">Telegive</p>
  <h1>Page not found</h1>
</header>
<main id="main">
  <section class="panel error" role="alert">
    <h2>There is no draw page at this address</h2>
    <p>A giveaway's draw is checked at <code>/draws/</code> followed by the giveaway's number, for example
      <code>/draws/42</code>. Check the link you were given.</p>
  </section>
</main>
</body>
</html>
`

// NotFoundPage answers a browser's request for an address under /draws/
// that does not exist with a small HTML page (404).
func NotFoundPage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	setPageHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, notFoundPage)
}
