//go:build amd64 && !purego

package draw

// useSHANI is whether the processor has the SHA extensions, which let the
// sum tree's hashes skip crypto/sha256's streaming state: each leaf is one
// padded block and each node two, compressed directly.
var useSHANI = hasSHANI()

// hasSHANI reports whether the processor has SHA, SSSE3, SSE4.1 and AVX,
// and the operating system saves the AVX registers.
//
//go:noescape
func hasSHANI() bool

// blockSHANI compresses the 64-byte blocks of p into dig.
//
//go:noescape
func blockSHANI(dig *[8]uint32, p []byte)

// blockSHANI2 compresses the blocks of pa into da and those of pb, as
// many, into db, the two interleaved.
//
//go:noescape
func blockSHANI2(da, db *[8]uint32, pa, pb []byte)
