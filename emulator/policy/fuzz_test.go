package policy

import "testing"

// fuzzRequests are evaluated against every policy FuzzParse manages to parse.
var fuzzRequests = [][2]string{
	{Connect, arn + "client/a*b"},
	{Publish, arn + "topic/a*b/x"},
	{RetainPublish, arn + "topic/x"},
	{Subscribe, arn + "topicfilter/a/+/#"},
	{Receive, arn + "topic/é?"},
	{"iot:Other", ""},
	{"", "*"},
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"arn:aws:iot:us-east-1:123456789012:client/${iot:ClientId}"}]}`))
	f.Add([]byte(`{"Statement":{"Effect":"Deny","NotAction":["iot:Pub*","iot:?eceive"],"NotResource":"*/${*}${?}${$}${x"}}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:StringLikeIfExists":{"iot:ConnectAttributes":["Last*",true,1e3]},"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","${aws:SourceIp}"]}}}]}`))
	f.Add([]byte(`{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Null":{"iot:Connection.Thing.ThingName":"true"},"ArnLike":{"iot:ClientId":"arn:*"}}}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[]}`))
	f.Add([]byte(`[{"Effect":"Allow"}]`))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Parse("fuzz", src)
		if err != nil {
			if d != nil {
				t.Fatal("Parse returned a document and an error")
			}
			return
		}
		for _, ctx := range []Context{
			{},
			{Region: region, AccountID: account, ClientID: "a*b", DomainName: "d", SourceIP: "10.1.2.3",
				ConnectAttributes: []string{"PersistentConnect", "LastWill"}},
		} {
			p := Compile([]*Document{d, d}, ctx)
			for _, r := range fuzzRequests {
				dec := p.Evaluate(r[0], r[1])
				if dec.Allowed != (dec.Effect == EffectAllow) || (dec.Effect == "") != (dec.Statement == -1) {
					t.Fatalf("inconsistent decision %+v", dec)
				}
				_ = dec.String()
			}
		}
	})
}
