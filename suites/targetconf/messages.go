package targetconf

import (
	"fmt"
	"slices"
	"strings"
)

// Messages inside a session a gateway may or may not relay (the RTE
// requirements). A target that leaves `messages` out relays them all, as
// the reference gateway does; one that lists some relays only those, and
// the specs of the others are not applicable.
const (
	MessageElicitation   = "elicitation"   // elicitation/create
	MessageSampling      = "sampling"      // sampling/createMessage
	MessageRoots         = "roots"         // roots/list
	MessageProgress      = "progress"      // notifications/progress
	MessageCancellation  = "cancellation"  // notifications/cancelled
	MessageNotifications = "notifications" // tools/list_changed, resources/updated
)

// AllMessages lists every message kind, in documentation order.
var AllMessages = []string{MessageElicitation, MessageSampling, MessageRoots, MessageProgress, MessageCancellation, MessageNotifications}

// Relays reports whether the target relays a kind of message.
func (t *Target) Relays(kind string) bool {
	return t.Messages == nil || slices.Contains(t.Messages, kind)
}

func (t *Target) validateMessages() error {
	for i, m := range t.Messages {
		if !slices.Contains(AllMessages, m) {
			return fmt.Errorf("target %s: messages[%d] %q: want one of %s", t.Name, i, m, strings.Join(AllMessages, ", "))
		}
		if slices.Contains(t.Messages[:i], m) {
			return fmt.Errorf("target %s: messages[%d] %q is listed twice", t.Name, i, m)
		}
	}
	return nil
}
