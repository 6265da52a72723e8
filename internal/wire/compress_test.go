package wire

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

func TestCompressRoundTrip(t *testing.T) {
	var rows []byte
	for i := range 2000 {
		rows = fmt.Appendf(rows, `{"symbol":"BTCUSDT","trade_id":"%d","price":%d.5}`, 4000000+i, 97000+i%7)
	}
	for name, in := range map[string][]byte{"empty": nil, "one byte": {7}, "rows": rows} {
		t.Run(name, func(t *testing.T) {
			enc := AppendCompressed([]byte("head"), in)
			if !bytes.HasPrefix(enc, []byte("head")) {
				t.Fatalf("dst's bytes were not kept: %q", enc[:4])
			}
			out, err := Decompress(enc[4:])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, in) {
				t.Errorf("round trip gave %d bytes, want the %d given", len(out), len(in))
			}
		})
	}
	if enc := AppendCompressed(nil, rows); len(enc) > len(rows)/5 {
		t.Errorf("%d bytes of alike rows compressed to %d, want under a fifth", len(rows), len(enc))
	}
}

// A cut, corrupted or oversized input is an error, never fewer bytes.
func TestDecompressRefusesBadInput(t *testing.T) {
	enc := AppendCompressed(nil, bytes.Repeat([]byte("tick "), 1000))
	corrupt := bytes.Clone(enc)
	corrupt[len(corrupt)/2] ^= 0xff
	// A frame claiming more than MaxDecompressed: magic, a single-segment
	// descriptor with an 8-byte content size, that size, one empty last block.
	huge := binary.LittleEndian.AppendUint32(nil, 0xFD2FB528)
	huge = append(huge, 0xE0)
	huge = binary.LittleEndian.AppendUint64(huge, MaxDecompressed+1)
	huge = append(huge, 0x01, 0x00, 0x00)
	for name, b := range map[string][]byte{
		"cut":        enc[:len(enc)-3],
		"corrupted":  corrupt,
		"not zstd":   []byte("plain rows"),
		"over bound": huge,
	} {
		out, err := Decompress(b)
		t.Logf("%s: %v", name, err)
		if err == nil {
			t.Errorf("%s: got %d bytes and no error", name, len(out))
		}
	}
}
