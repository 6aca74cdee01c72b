// Package signing computes the request signature the participant service
// accepts in X-Signature, so that callers in Go can sign requests without
// depending on the service.
//
// The signature is the lowercase hex of HMAC-SHA256 keyed with the caller's
// service token over
//
//	METHOD "\n" REQUEST_URI "\n" TIMESTAMP "\n" hex(SHA-256(BODY))
//
// where REQUEST_URI is the path with its query string as sent, and
// TIMESTAMP is the Unix time in seconds, also sent as X-Timestamp. The
// service accepts a signature within five minutes of its timestamp, once.
package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
)

// Sign returns the X-Signature value for a request.
func Sign(token, method, requestURI string, timestamp int64, body []byte) string {
	bodyHash := sha256.Sum256(body)
	mac := hmac.New(sha256.New, []byte(token))
	mac.Write([]byte(method + "\n" + requestURI + "\n" + strconv.FormatInt(timestamp, 10) + "\n" + hex.EncodeToString(bodyHash[:])))
	return hex.EncodeToString(mac.Sum(nil))
}
