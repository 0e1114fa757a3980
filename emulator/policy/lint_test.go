package policy

import (
	"slices"
	"testing"
)

// TestLint: each mistake AWS accepts but that denies a device is found, with a fix; a correct
// policy has no finding.
func TestLint(t *testing.T) {
	const arn = "arn:aws:iot:us-east-1:123456789012:"
	cases := map[string]struct {
		doc  string
		want []string
	}{
		"correct": {`{"Version":"2012-10-17","Statement":[
			{"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn + `client/${iot:ClientId}"},
			{"Effect":"Allow","Action":["iot:Publish","iot:Receive"],"Resource":"` + arn + `topic/d/${iot:ClientId}/*"},
			{"Effect":"Allow","Action":"iot:Subscribe","Resource":"` + arn + `topicfilter/d/${iot:ClientId}/*"}]}`, nil},
		"subscribe on topic/": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Subscribe","iot:Receive"],"Resource":["` + arn + `client/dev1","` + arn + `topic/a"]}]}`,
			[]string{"subscribe-on-topic"}},
		"publish on topicfilter/": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Publish"],"Resource":["` + arn + `client/dev1","` + arn + `topicfilter/a"]}]}`,
			[]string{"publish-on-topicfilter"}},
		"no receive": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Subscribe"],"Resource":["` + arn + `client/dev1","` + arn + `topicfilter/a"]}]}`,
			[]string{"subscribe-without-receive"}},
		"mqtt wildcard": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Publish"],"Resource":["` + arn + `client/dev1","` + arn + `topic/a/#"]}]}`,
			[]string{"mqtt-wildcard"}},
		"other region and account": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":["` + arn + `client/dev1","arn:aws:iot:eu-west-1:999999999999:topic/a"]}]}`,
			[]string{"other-region", "other-account"}},
		"connect for another client": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn + `client/sensor-*"}]}`,
			[]string{"connect-not-allowed"}},
		"misspelled action": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iot:Connect","iot:Publsh"],"Resource":"` + arn + `client/dev1"}]}`,
			[]string{"unknown-action"}},
		"unknown condition key": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"` + arn + `client/dev1"},
			{"Effect":"Allow","Action":"iot:Publish","Resource":"` + arn + `topic/a","Condition":{"StringEquals":{"iot:ClientID2":"x"}}}]}`,
			[]string{"unknown-condition-key"}},
		"thing variable": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":["` + arn + `client/dev1","` + arn + `client/${iot:Connection.Thing.ThingName}"]}]}`,
			[]string{"thing-variable"}},
		"allow all": {`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`,
			[]string{"allow-all"}},
	}
	for name, c := range cases {
		doc, err := Parse("policyDocuments[0]", []byte(c.doc))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var codes []string
		for _, f := range Lint([]*Document{doc}, LintContext{Region: "us-east-1", AccountID: "123456789012", ClientID: "dev1"}) {
			if f.Fix == "" || f.Rule == "" || f.Where == "" {
				t.Errorf("%s: %+v lacks a fix, rule or place", name, f)
			}
			if !slices.Contains(codes, f.Code) {
				codes = append(codes, f.Code)
			}
		}
		if !slices.Equal(codes, c.want) {
			t.Errorf("%s: findings %v, want %v", name, codes, c.want)
		}
	}
}
