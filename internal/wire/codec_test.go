package wire

import "testing"

type point struct{ X, Y int64 }

func TestRegisterFor(t *testing.T) {
	Register(Codec[point]{
		Append: func(b []byte, p point) []byte { return AppendInt(AppendInt(b, p.X), p.Y) },
		Read:   func(r *Reader) point { return point{X: r.Int(), Y: r.Int()} },
	})
	c := For[point]()
	r := NewReader(c.Append(nil, point{X: -3, Y: 7}))
	if got := c.Read(r); got != (point{X: -3, Y: 7}) || r.Err() != nil {
		t.Fatalf("round trip = %+v, %v", got, r.Err())
	}
}

func TestForUnregisteredPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("For of an unregistered type did not panic")
		}
	}()
	For[struct{ unregistered bool }]()
}
