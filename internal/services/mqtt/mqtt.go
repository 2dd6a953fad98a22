package mqtt

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Bounds on what one attacker can make the broker hold or record.
const (
	maxPacket        = 256 << 10 // largest MQTT packet read (Mosquitto's default is 256 MiB; a honeypot needs less)
	maxPayloadField  = 1 << 10   // printable payload kept in an event
	maxPayloadB64    = 4 << 10   // raw payload bytes kept (base64) in an event
	maxCredential    = 1 << 10
	maxTopics        = 64      // topic filters listed in one SUBSCRIBE event
	maxClientRetains = 512     // retained topics attackers may create in total
	sysInterval      = 10      // seconds between $SYS updates (Mosquitto's sys_interval)
	mochiNoSysTicks  = 1 << 30 // mochi's own $SYS ticker, effectively never: this package publishes Mosquitto's
)

// broker is one running persona.
type broker struct {
	rt        *service.Runtime
	srv       *mochi.Server
	version   string
	anonymous bool
	users     map[string]map[string]bool // nil: any username is accepted
	started   time.Time                  // the persona's broker start, per decky

	mu      sync.Mutex
	retains map[string]bool // topics attackers made retained

	received, sent, connected, total atomic.Int64
}

func newBroker(rt *service.Runtime) *broker {
	b := &broker{
		rt:        rt,
		version:   rt.Persona(KeyVersion),
		anonymous: rt.PersonaBool(KeyAllowAnonymous, true),
		retains:   map[string]bool{},
	}
	if b.version == "" {
		b.version = "2.0.18"
	}
	if len(rt.PersonaList(KeyUsers)) > 0 {
		b.users = service.Users(rt, KeyUsers, "")
	}
	// The broker has been up for a stable, per-decky 3 to 40 days.
	seed := decky(rt)
	up := time.Duration(3*24*3600+binary.BigEndian.Uint32(seed[:4])%(37*24*3600)) * time.Second
	b.started = time.Now().Add(-up)
	return b
}

// decky returns a per-decky seed, stable across restarts.
func decky(rt *service.Runtime) [32]byte {
	return sha256.Sum256([]byte("decnet-mqtt\x00" + rt.Config.Decky + "\x00" + rt.Config.Hostname))
}

func run(ctx context.Context, rt *service.Runtime) error {
	l, err := rt.ListenTCP(1883)
	if err != nil {
		return err
	}
	b := newBroker(rt)
	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = maxPacket
	caps.ReceiveMaximum = 20 // Mosquitto's max_inflight_messages
	caps.MaximumClientWritesPending = 1024
	caps.MaximumSessionExpiryInterval = 3600
	caps.MaximumInflight = 1024
	srv := mochi.New(&mochi.Options{
		InlineClient:           true,
		Capabilities:           caps,
		Logger:                 slog.New(errorsOnly{rt.Log.Handler()}),
		SysTopicResendInterval: mochiNoSysTicks,
	})
	b.srv = srv
	if err := srv.AddHook(&hook{b: b}, nil); err != nil {
		l.Close()
		return fmt.Errorf("mqtt: add the capture hook: %w", err)
	}
	if err := srv.Serve(); err != nil { // no listener yet: nothing is reachable before the persona is in place
		l.Close()
		return fmt.Errorf("mqtt: start the broker: %w", err)
	}
	defer srv.Close()
	// Mochi published its own $SYS tree; replace it with Mosquitto's and the bait.
	for topic := range srv.Topics.Retained.GetAll() {
		srv.Topics.Retained.Delete(topic)
	}
	b.publishSys()
	for _, item := range b.bait() {
		topic, payload, _ := strings.Cut(item, "=")
		if err := srv.Publish(topic, []byte(payload), true, 0); err != nil {
			return fmt.Errorf("mqtt: publish bait topic %q: %w", topic, err)
		}
	}
	if err := srv.AddListener(listeners.NewNet("mqtt", l)); err != nil {
		l.Close()
		return fmt.Errorf("mqtt: attach the listener: %w", err)
	}
	srv.Listeners.Serve("mqtt", srv.EstablishConnection)
	rt.Log.Info("mqtt broker persona", "version", b.version, "allow_anonymous", b.anonymous, "users", len(b.users))
	tick := time.NewTicker(sysInterval * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			b.publishSys()
		}
	}
}

// bait returns the retained topic=payload items: the persona's, or a smart-home
// tree named after the decky (Zigbee2MQTT, Tasmota and sensor topics, the kind
// of broker left open on the internet).
func (b *broker) bait() []string {
	if items := b.rt.PersonaList(KeyRetained); len(items) > 0 {
		return items
	}
	host := b.rt.Config.Hostname
	if host == "" {
		host = b.rt.Config.Decky
	}
	host, _, _ = strings.Cut(host, ".")
	seed := decky(b.rt)
	temp := 19.0 + float64(seed[4]%60)/10
	hum := 38 + int(seed[5]%25)
	plug := fmt.Sprintf("tasmota_%02X%02X%02X", seed[6], seed[7], seed[8])
	return []string{
		"home/" + host + "/livingroom/temperature=" + strconv.FormatFloat(temp, 'f', 1, 64),
		"home/" + host + "/livingroom/humidity=" + strconv.Itoa(hum),
		"home/" + host + "/frontdoor/lock=locked",
		"home/" + host + "/alarm/state=armed_away",
		"zigbee2mqtt/bridge/state={\"state\":\"online\"}",
		"tele/" + plug + "/LWT=Online",
		"stat/" + plug + "/POWER=ON",
	}
}

// publishSys (re)publishes Mosquitto's $SYS tree.
func (b *broker) publishSys() {
	info := b.srv.Info
	up := int64(time.Since(b.started).Seconds())
	conn := b.connected.Load()
	sys := map[string]string{
		"$SYS/broker/version":                   "mosquitto version " + b.version,
		"$SYS/broker/uptime":                    strconv.FormatInt(up, 10) + " seconds",
		"$SYS/broker/clients/total":             strconv.FormatInt(b.total.Load(), 10),
		"$SYS/broker/clients/connected":         strconv.FormatInt(conn, 10),
		"$SYS/broker/clients/active":            strconv.FormatInt(conn, 10),
		"$SYS/broker/clients/disconnected":      strconv.FormatInt(b.total.Load()-conn, 10),
		"$SYS/broker/clients/maximum":           strconv.FormatInt(max(conn, 1+int64(up%7)), 10),
		"$SYS/broker/messages/received":         strconv.FormatInt(b.received.Load()+up/30, 10),
		"$SYS/broker/messages/sent":             strconv.FormatInt(b.sent.Load()+up/30, 10),
		"$SYS/broker/messages/stored":           strconv.FormatInt(atomic.LoadInt64(&info.Retained), 10),
		"$SYS/broker/retained messages/count":   strconv.FormatInt(atomic.LoadInt64(&info.Retained), 10),
		"$SYS/broker/subscriptions/count":       strconv.FormatInt(atomic.LoadInt64(&info.Subscriptions), 10),
		"$SYS/broker/store/messages/count":      strconv.FormatInt(atomic.LoadInt64(&info.Retained), 10),
		"$SYS/broker/bytes/received":            strconv.FormatInt(atomic.LoadInt64(&info.BytesReceived)+up*3, 10),
		"$SYS/broker/bytes/sent":                strconv.FormatInt(atomic.LoadInt64(&info.BytesSent)+up*5, 10),
		"$SYS/broker/publish/messages/received": strconv.FormatInt(b.received.Load(), 10),
		"$SYS/broker/publish/messages/sent":     strconv.FormatInt(b.sent.Load(), 10),
	}
	for topic, payload := range sys {
		_ = b.srv.Publish(topic, []byte(payload), true, 0)
	}
}

// protocolName names a CONNECT's protocol version as the capture reports it.
func protocolName(v byte) string {
	switch v {
	case 3:
		return "MQTT 3.1"
	case 4:
		return "MQTT 3.1.1"
	case 5:
		return "MQTT 5.0"
	}
	return "MQTT level " + strconv.Itoa(int(v))
}

// hook captures what clients do and applies the persona's access rules.
type hook struct {
	mochi.HookBase
	b *broker
}

func (h *hook) ID() string { return "decnet-capture" }

func (h *hook) Provides(b byte) bool {
	switch b {
	case mochi.OnConnect, mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnSubscribe, mochi.OnUnsubscribe,
		mochi.OnPublish, mochi.OnPacketEncode, mochi.OnSessionEstablished, mochi.OnDisconnect, mochi.OnPacketSent:
		return true
	}
	return false
}

// emit records an event from a client's connection; the inline client (the
// broker's own bait publisher) records nothing.
func (h *hook) emit(cl *mochi.Client, typ string, fields map[string]string) {
	if c, ok := cl.Net.Conn.(*service.Conn); ok {
		c.Emit(typ, fields, "")
	}
}

// OnConnect names a client that sent no client id as Mosquitto does
// ("auto-" and an upper-case UUID; Mochi would use a 20-character xid), which an
// MQTT 5 client sees in the CONNACK's assigned client identifier.
func (h *hook) OnConnect(cl *mochi.Client, pk packets.Packet) error {
	if pk.Connect.ClientIdentifier == "" {
		id := "auto-" + strings.ToUpper(uuid.NewString())
		cl.ID = id
		if cl.Properties.Props.AssignedClientID != "" {
			cl.Properties.Props.AssignedClientID = id
		}
	}
	return nil
}

// OnConnectAuthenticate captures the CONNECT and decides like Mosquitto with the
// persona's allow_anonymous and password file.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	b := h.b
	c := pk.Connect
	f := map[string]string{
		"protocol":      protocolName(pk.ProtocolVersion),
		"protocol_name": service.Printable(string(c.ProtocolName), 16),
		"clean":         strconv.FormatBool(c.Clean),
		"keepalive":     strconv.Itoa(int(c.Keepalive)),
	}
	service.SetPrintableLimit(f, "client_id", c.ClientIdentifier, maxCredential)
	ok := b.anonymous
	if c.UsernameFlag {
		service.SetPrintableLimit(f, "username", string(c.Username), maxCredential)
		user := string(c.Username)
		ok = b.users == nil || b.users[user][string(c.Password)] && c.PasswordFlag
		if b.users == nil && !b.anonymous {
			ok = false // Mosquitto without a password file and without anonymous access refuses everyone
		}
	} else {
		f["anonymous"] = "true"
	}
	if c.PasswordFlag {
		pw := c.Password
		if len(pw) > maxCredential {
			pw = pw[:maxCredential]
			f["truncated"] = "true"
		}
		f["password"] = service.Printable(string(pw), 0)
		f["secret_b64"] = base64.StdEncoding.EncodeToString(pw)
		f["secret_kind"] = "plaintext"
	}
	if c.WillFlag {
		service.SetPrintableLimit(f, "will_topic", c.WillTopic, maxCredential)
		setPayload(f, "will_", c.WillPayload)
	}
	if ok {
		f["outcome"] = "success"
	} else {
		f["outcome"] = "failure"
		f["reason"] = "not authorised"
	}
	h.emit(cl, event.Auth, f)
	return ok
}

// OnACLCheck allows every topic, as Mosquitto does without an acl_file.
func (h *hook) OnACLCheck(*mochi.Client, string, bool) bool { return true }

func (h *hook) OnSessionEstablished(cl *mochi.Client, _ packets.Packet) {
	h.b.connected.Add(1)
	h.b.total.Add(1)
}

func (h *hook) OnDisconnect(cl *mochi.Client, _ error, _ bool) {
	if cl.Net.Inline {
		return
	}
	h.b.connected.Add(-1)
}

func (h *hook) OnPacketSent(cl *mochi.Client, pk packets.Packet, _ []byte) {
	if pk.FixedHeader.Type == packets.Publish && !cl.Net.Inline {
		h.b.sent.Add(1)
	}
}

// OnSubscribe records the topic filters a client subscribes to.
func (h *hook) OnSubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	h.emit(cl, event.Command, filterFields("SUBSCRIBE", pk.Filters))
	return pk
}

// OnUnsubscribe records the topic filters a client leaves.
func (h *hook) OnUnsubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	h.emit(cl, event.Command, filterFields("UNSUBSCRIBE", pk.Filters))
	return pk
}

func filterFields(verb string, subs packets.Subscriptions) map[string]string {
	topics := make([]string, 0, min(len(subs), maxTopics))
	qos := make([]string, 0, cap(topics))
	for i, s := range subs {
		if i == maxTopics {
			break
		}
		topics = append(topics, s.Filter)
		qos = append(qos, strconv.Itoa(int(s.Qos)))
	}
	f := map[string]string{"command": verb, "count": strconv.Itoa(len(subs))}
	service.SetPrintableLimit(f, "topic", strings.Join(topics, ","), 16<<10)
	if verb == "SUBSCRIBE" {
		f["qos"] = strings.Join(qos, ",")
	}
	return f
}

// OnPublish records a client's PUBLISH and bounds the retained store attackers can
// fill: past maxClientRetains topics, new retained messages are delivered but not
// kept.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	h.b.received.Add(1)
	f := map[string]string{
		"command": "PUBLISH",
		"qos":     strconv.Itoa(int(pk.FixedHeader.Qos)),
		"retain":  strconv.FormatBool(pk.FixedHeader.Retain),
	}
	service.SetPrintableLimit(f, "topic", pk.TopicName, maxCredential)
	setPayload(f, "", pk.Payload)
	h.emit(cl, event.Command, f)
	if pk.FixedHeader.Retain && len(pk.Payload) > 0 {
		h.b.mu.Lock()
		if !h.b.retains[pk.TopicName] && len(h.b.retains) >= maxClientRetains {
			pk.FixedHeader.Retain = false
		} else {
			h.b.retains[pk.TopicName] = true
		}
		h.b.mu.Unlock()
	}
	return pk, nil
}

// setPayload records a payload: its size, SHA-256, a printable prefix and the raw
// prefix in base64.
func setPayload(f map[string]string, prefix string, p []byte) {
	sum := sha256.Sum256(p)
	f[prefix+"payload_size"] = strconv.Itoa(len(p))
	f[prefix+"payload_sha256"] = fmt.Sprintf("%x", sum)
	f[prefix+"payload"] = service.Printable(string(p), maxPayloadField)
	if len(p) > 0 {
		f[prefix+"payload_b64"] = base64.StdEncoding.EncodeToString(p[:min(len(p), maxPayloadB64)])
	}
	if len(p) > maxPayloadB64 {
		f[prefix+"payload_truncated"] = "true"
	}
}

// OnPacketEncode makes CONNACKs read like Mosquitto's: a refused MQTT 5 login is
// 0x87 "not authorised" with no reason string (Mochi says 0x86 and explains), and a
// successful MQTT 5 CONNACK announces Mosquitto's topic alias maximum.
func (h *hook) OnPacketEncode(cl *mochi.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type != packets.Connack {
		return pk
	}
	pk.Properties.ReasonString = ""
	if pk.ReasonCode == packets.ErrBadUsernameOrPassword.Code && cl.Properties.ProtocolVersion == 5 {
		pk.ReasonCode = packets.ErrNotAuthorized.Code
	}
	if pk.ReasonCode == packets.CodeSuccess.Code && cl.Properties.ProtocolVersion == 5 {
		pk.Properties.TopicAliasMaximum = 10
	}
	return pk
}

// errorsOnly passes only error records to the runtime's log: Mochi warns about
// every malformed packet, and attackers send plenty.
type errorsOnly struct{ slog.Handler }

func (e errorsOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError && e.Handler.Enabled(ctx, l)
}

func (e errorsOnly) WithAttrs(a []slog.Attr) slog.Handler { return errorsOnly{e.Handler.WithAttrs(a)} }
func (e errorsOnly) WithGroup(n string) slog.Handler      { return errorsOnly{e.Handler.WithGroup(n)} }
