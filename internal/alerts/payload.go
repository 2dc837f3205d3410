package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Payload is the JSON body of a webhook delivery.
type Payload struct {
	DeliveryID string `json:"deliveryId"`
	Account    string `json:"account"`
	Resource   string `json:"resource"`
	Threshold  int32  `json:"threshold"`
	Percent    int64  `json:"percent"`
	Used       int64  `json:"used"`
	Limit      int64  `json:"limit"`
	Time       string `json:"time"`
}

func newPayload(c Crossing) Payload {
	return Payload{DeliveryID: c.DeliveryID, Account: c.AccountID, Resource: c.Resource, Threshold: c.Threshold,
		Percent: c.Percent, Used: c.UsedBytes, Limit: c.LimitBytes, Time: c.Time.Format(time.RFC3339Nano)}
}

// Signature returns the value of the X-Quota-Signature header for body: "sha256=" and the hex
// HMAC-SHA256 of the body under secret.
func Signature(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}
