package broker

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/iotemu/iotemu/internal/gateway"
)

// readConnect reads the first packet, which must be CONNECT, within timeout, and returns it
// decoded together with its raw bytes (to be handed back to mochi).
func readConnect(c *gateway.Conn, timeout time.Duration) (packets.Packet, []byte, error) {
	var pk packets.Packet
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})

	var raw bytes.Buffer
	var one [1]byte
	if _, err := io.ReadFull(c, one[:]); err != nil {
		return pk, nil, fmt.Errorf("read fixed header: %w", err)
	}
	raw.WriteByte(one[0])
	if err := pk.FixedHeader.Decode(one[0]); err != nil {
		return pk, nil, fmt.Errorf("decode fixed header: %w", err)
	}
	if pk.FixedHeader.Type != packets.Connect {
		return pk, nil, fmt.Errorf("first packet is type %d, not CONNECT", pk.FixedHeader.Type) // [MQTT-3.1.0-1]
	}
	n, _, err := packets.DecodeLength(byteReader{c, &raw})
	if err != nil {
		return pk, nil, fmt.Errorf("read remaining length: %w", err)
	}
	if n+1 > MaxPacketSize {
		return pk, nil, fmt.Errorf("CONNECT of %d bytes is over the %d-byte packet limit", n, MaxPacketSize)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c, body); err != nil {
		return pk, nil, fmt.Errorf("read CONNECT: %w", err)
	}
	raw.Write(body)
	pk.FixedHeader.Remaining = n
	if err := pk.ConnectDecode(body); err != nil {
		return pk, nil, fmt.Errorf("decode CONNECT: %w", err)
	}
	if code := pk.ConnectValidate(); code != packets.CodeSuccess {
		return pk, nil, fmt.Errorf("invalid CONNECT: %w", code)
	}
	return pk, raw.Bytes(), nil
}

// byteReader reads single bytes from r and keeps a copy in raw.
type byteReader struct {
	r   io.Reader
	raw *bytes.Buffer
}

func (b byteReader) ReadByte() (byte, error) {
	var one [1]byte
	if _, err := io.ReadFull(b.r, one[:]); err != nil {
		return 0, err
	}
	b.raw.WriteByte(one[0])
	return one[0], nil
}

// refuseConnect shows the device a refused CONNECT as the outcome says, then returns; the
// caller closes the connection.
func refuseConnect(c *gateway.Conn, version byte, o Outcome) {
	if o.Action != Connack {
		return
	}
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connack},
		ProtocolVersion: version,
		ReasonCode:      o.Code.Code,
	}
	var buf bytes.Buffer
	if err := pk.ConnackEncode(&buf); err != nil {
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write(buf.Bytes())
}

// errClosedByEmulator marks a connection the hooks close on purpose; mochi treats an
// ErrRejectPacket from OnPacketRead as the end of the connection.
var errClosedByEmulator = fmt.Errorf("closed by the emulator: %w", packets.ErrRejectPacket)
