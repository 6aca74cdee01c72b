//go:build !amd64 || purego

package draw

const useSHANI = false

func blockSHANI(*[8]uint32, []byte) { panic("draw: no SHA-NI") }

func blockSHANI2(*[8]uint32, *[8]uint32, []byte, []byte) { panic("draw: no SHA-NI") }
