package policy

// ClientARN returns the resource iot:Connect is checked on:
// arn:aws:iot:REGION:ACCOUNT:client/CLIENTID.
func ClientARN(region, account, clientID string) string {
	return arnPrefix(region, account) + "client/" + clientID
}

// TopicARN returns the resource iot:Publish, iot:RetainPublish and iot:Receive are checked
// on: arn:aws:iot:REGION:ACCOUNT:topic/TOPIC.
func TopicARN(region, account, topic string) string {
	return arnPrefix(region, account) + "topic/" + topic
}

// TopicFilterARN returns the resource iot:Subscribe is checked on:
// arn:aws:iot:REGION:ACCOUNT:topicfilter/FILTER.
func TopicFilterARN(region, account, filter string) string {
	return arnPrefix(region, account) + "topicfilter/" + filter
}

func arnPrefix(region, account string) string {
	return "arn:aws:iot:" + region + ":" + account + ":"
}
