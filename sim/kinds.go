package sim

import (
	"fmt"
	"time"
)

// Hour-of-day (UTC) profiles, relative to the kind's peak hour.
var (
	// Customers write in around the clock, most during European and US
	// office hours.
	supportProfile = [24]float64{.3, .25, .2, .2, .25, .3, .5, .8, 1, 1, 1, 1, .9, 1, 1, 1, .95, .85, .75, .65, .55, .45, .4, .35}
	// Engineers deploy during the working day.
	ciProfile = [24]float64{0, 0, 0, 0, 0, 0, 0, .5, 1, 1, 1, .8, .6, 1, 1, 1, .9, .7, .4, 0, 0, 0, 0, 0}
	// Analysts query during the working day; the nightly batch is separate.
	dataProfile = [24]float64{0, 0, 0, 0, 0, 0, .05, .3, .8, 1, 1, .9, .6, .9, 1, 1, .8, .5, .2, .05, 0, 0, 0, 0}
	// Outreach goes out in office hours only.
	salesProfile = [24]float64{0, 0, 0, 0, 0, 0, 0, 0, .7, 1, 1, 1, .6, .8, 1, 1, .9, .6, 0, 0, 0, 0, 0, 0}
	// Health checks run around the clock, a little denser by day.
	opsProfile = [24]float64{.7, .7, .7, .7, .7, .7, .8, .9, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, .9, .9, .8, .8, .7, .7}
)

func profileFor(kind string) *[24]float64 {
	switch kind {
	case KindSupport:
		return &supportProfile
	case KindCI:
		return &ciProfile
	case KindData:
		return &dataProfile
	case KindSales:
		return &salesProfile
	}
	return &opsProfile
}

func weekendFor(kind string) float64 {
	switch kind {
	case KindSupport:
		return 0.55
	case KindCI:
		return 0
	case KindData:
		return 0.15
	case KindSales:
		return 0
	}
	return 0.9
}

var services = []string{"checkout-api", "payments", "search", "catalog", "notifications", "user-profile", "orders", "inventory-sync"}

// support: conversations, each on behalf of one customer: read the ticket,
// read the customer, maybe search the knowledge base, reply.
func (g *agentGen) support(hs time.Time) {
	n := poisson(g.r, g.rate(hs, 16, &supportProfile, weekendFor(KindSupport)))
	for range n {
		t := g.at(hs, time.Hour)
		inst := g.inst(t)
		cust := fmt.Sprintf("cus_%05d", 1+g.r.IntN(6000))
		if g.chance(0.7) {
			g.ticket++
		}
		ticket := fmt.Sprintf("zendesk://tickets/%d", g.ticket-g.r.IntN(3))
		call := func(t time.Time, system, tool, res, rtype string) {
			ev := g.base(t, inst, "mcp", system, "tools/call:"+tool, res, rtype)
			ev.OnBehalfOf = "customer:" + cust
			ev.DelegationChain = []string{"customer:" + cust, g.a.id}
			g.outcome(&ev, 0.01, 0.002, "timeout", "forbidden")
			g.emit(ev)
		}
		call(t, "mcp:zendesk", "get_ticket", ticket, "ticket")
		t = g.step(t, 2*time.Second, 20*time.Second)
		call(t, "mcp:crm", "get_customer", "crm://customers/"+cust, "customer")
		if g.chance(0.6) {
			t = g.step(t, time.Second, 15*time.Second)
			call(t, "mcp:kb", "search_articles", fmt.Sprintf("kb://articles/%d", 1+g.r.IntN(400)), "article")
		}
		t = g.step(t, 20*time.Second, 2*time.Minute)
		call(t, "mcp:zendesk", "add_comment", ticket, "ticket")
		if g.chance(0.3) {
			call(g.step(t, time.Second, 10*time.Second), "mcp:zendesk", "update_ticket", ticket, "ticket")
		}
		// Rare but normal: escalation to a human, an address change, a
		// duplicate ticket merged.
		switch x := g.r.Float64(); {
		case x < 0.02:
			call(g.step(t, time.Second, 30*time.Second), "mcp:zendesk", "escalate_ticket", ticket, "ticket")
		case x < 0.03:
			call(g.step(t, time.Second, 30*time.Second), "mcp:crm", "update_customer", "crm://customers/"+cust, "customer")
		case x < 0.035:
			call(g.step(t, time.Second, 30*time.Second), "mcp:zendesk", "merge_tickets", ticket, "ticket")
		}
	}
}

// ci: deploy pipelines on weekdays (and a rare weekend hotfix): trigger the
// workflow, push the image to ECR, roll it out to staging, then usually prod.
func (g *agentGen) ci(hs time.Time) {
	lambda := g.rate(hs, 1.4, &ciProfile, 0)
	if isWeekend(hs) && hs.Hour() >= 10 && hs.Hour() < 16 {
		lambda = 0.015 * g.a.volumeFactor(hs)
	}
	for range poisson(g.r, lambda) {
		g.deploy(g.at(hs, 50*time.Minute))
	}
	// Polling workflow status during the day.
	for range poisson(g.r, g.rate(hs, 6, &ciProfile, 0)) {
		t := g.at(hs, time.Hour)
		svc := services[g.r.IntN(len(services))]
		g.emit(g.base(t, g.inst(t), "canonical", "github", "actions.get", "repos/acme/"+svc, "workflow_run"))
	}
	// Rare but normal: a rollback (about once a week), and the Friday
	// clean-up of old images.
	if !isWeekend(hs) && hs.Hour() >= 9 && hs.Hour() < 18 && g.chance(0.2/9) {
		t := g.at(hs, time.Hour)
		svc := services[g.r.IntN(len(services))]
		ev := g.base(t, g.inst(t), "k8s", "k8s", "k8s:patch deployments", "prod/deployments/"+svc, "deployments.apps")
		g.a.k8sIdentity(&ev, t)
		ev.Attributes = map[string]string{"k8s.change_cause": "rollback"}
		g.emit(ev)
	}
	if hs.Weekday() == time.Friday && hs.Hour() == 17 {
		t := g.at(hs, 10*time.Minute)
		inst := g.inst(t)
		for _, svc := range services {
			t = g.step(t, time.Second, 5*time.Second)
			g.emit(g.base(t, inst, "cloudtrail", "aws:ecr", "ecr:BatchDeleteImage", ecrRepo(svc), "AWS::ECR::Repository"))
		}
	}
}

func ecrRepo(svc string) string {
	return "arn:aws:ecr:eu-west-1:" + awsAccount + ":repository/" + svc
}

func (g *agentGen) deploy(t time.Time) {
	inst := g.inst(t)
	svc := services[g.r.IntN(len(services))]
	gh := func(action, rtype string) {
		g.emit(g.base(t, inst, "canonical", "github", action, "repos/acme/"+svc, rtype))
	}
	gh("actions.run", "workflow_run")
	t = g.step(t, time.Second, 5*time.Second)
	gh("repos.get", "repository")
	t = g.step(t, 2*time.Minute, 6*time.Minute) // build
	for _, act := range []string{"ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload", "ecr:PutImage"} {
		t = g.step(t, 200*time.Millisecond, 3*time.Second)
		ev := g.base(t, inst, "cloudtrail", "aws:ecr", act, ecrRepo(svc), "AWS::ECR::Repository")
		g.outcome(&ev, 0.01, 0, "ThrottlingException", "")
		g.emit(ev)
	}
	envs := []string{"staging"}
	if g.chance(0.7) {
		envs = append(envs, "prod")
	}
	for _, env := range envs {
		k := func(verb, res, rtype string) {
			t = g.step(t, 500*time.Millisecond, 10*time.Second)
			ev := g.base(t, inst, "k8s", "k8s", verb, res, rtype)
			g.a.k8sIdentity(&ev, t)
			g.emit(ev)
		}
		k("k8s:get deployments", env+"/deployments/"+svc, "deployments.apps")
		k("k8s:patch deployments", env+"/deployments/"+svc, "deployments.apps")
		k("k8s:list replicasets", env+"/replicasets", "replicasets.apps")
		for range 2 + g.r.IntN(3) {
			k("k8s:list pods", env+"/pods", "pods")
		}
		t = g.step(t, time.Minute, 5*time.Minute) // soak before prod
	}
}

// data: a nightly batch over yesterday's partition, ad hoc Athena sessions
// in office hours, a weekly report on Monday and a monthly one on the 1st.
func (g *agentGen) data(hs time.Time) {
	day := hs.Truncate(24 * time.Hour)
	yesterday := day.AddDate(0, 0, -1).Format("2006-01-02")
	switch {
	case hs.Hour() == 2:
		g.batch(g.at(hs, 10*time.Minute), []string{yesterday}, 40+g.r.IntN(25), "reports/daily/dt="+yesterday+"/summary.parquet")
	case hs.Hour() == 6 && hs.Weekday() == time.Monday:
		var days []string
		for i := 1; i <= 7; i++ {
			days = append(days, day.AddDate(0, 0, -i).Format("2006-01-02"))
		}
		y, w := day.AddDate(0, 0, -1).ISOWeek()
		g.batch(g.at(hs, 20*time.Minute), days, 20+g.r.IntN(10), fmt.Sprintf("reports/weekly/%d-W%02d/report.pdf", y, w))
	case hs.Hour() == 4 && hs.Day() == 1:
		// The monthly close: the heaviest hour of the month, seen once.
		prev := day.AddDate(0, -1, 0)
		var days []string
		for d := prev; d.Before(day); d = d.AddDate(0, 0, 1) {
			days = append(days, d.Format("2006-01-02"))
		}
		g.batch(g.at(hs, 10*time.Minute), days, 150+g.r.IntN(40), "reports/monthly/"+prev.Format("2006-01")+"/close.parquet")
	}
	for range poisson(g.r, g.rate(hs, 6, &dataProfile, weekendFor(KindData))) {
		g.query(g.at(hs, 55*time.Minute), day)
	}
}

const lake = "arn:aws:s3:::analytics-lake"

func (g *agentGen) query(t time.Time, day time.Time) {
	inst := g.inst(t)
	wg := "arn:aws:athena:eu-west-1:" + awsAccount + ":workgroup/analytics"
	qid := fmt.Sprintf("%08x", g.r.Uint32())
	ath := func(act string) {
		ev := g.base(t, inst, "cloudtrail", "aws:athena", act, wg, "AWS::Athena::WorkGroup")
		g.emit(ev)
	}
	ath("athena:StartQueryExecution")
	for range 1 + g.r.IntN(3) {
		t = g.step(t, 2*time.Second, 20*time.Second)
		ath("athena:GetQueryExecution")
	}
	t = g.step(t, time.Second, 5*time.Second)
	ev := g.base(t, inst, "cloudtrail", "aws:athena", "athena:GetQueryResults", wg, "AWS::Athena::WorkGroup")
	ev.Records = int64(10 + g.r.IntN(5000))
	g.outcome(&ev, 0.02, 0, "InvalidRequestException", "")
	g.emit(ev)
	t = g.step(t, time.Second, 5*time.Second)
	ev = g.base(t, inst, "cloudtrail", "aws:s3", "s3:GetObject", lake+"/athena-results/"+qid+".csv", "AWS::S3::Object")
	ev.Bytes = int64(1<<10 + g.r.IntN(4<<20))
	g.emit(ev)
	if g.chance(0.4) {
		d := day.AddDate(0, 0, -g.r.IntN(14)).Format("2006-01-02")
		for range 2 + g.r.IntN(7) {
			t = g.step(t, 100*time.Millisecond, 2*time.Second)
			ev := g.base(t, inst, "cloudtrail", "aws:s3", "s3:GetObject",
				fmt.Sprintf("%s/events/dt=%s/part-%05d.parquet", lake, d, g.r.IntN(64)), "AWS::S3::Object")
			ev.Bytes = int64(8<<20 + g.r.IntN(56<<20))
			g.emit(ev)
		}
	}
}

// batch reads parts of the given day partitions and writes one report.
func (g *agentGen) batch(t time.Time, days []string, parts int, report string) {
	inst := g.inst(t)
	g.emit(g.base(t, inst, "cloudtrail", "aws:glue", "glue:GetTable",
		"arn:aws:glue:eu-west-1:"+awsAccount+":table/analytics/events", "AWS::Glue::Table"))
	t = g.step(t, time.Second, 3*time.Second)
	g.emit(g.base(t, inst, "cloudtrail", "aws:s3", "s3:ListBucket", lake, "AWS::S3::Bucket"))
	for i := range parts {
		t = g.step(t, 200*time.Millisecond, 4*time.Second)
		d := days[i%len(days)]
		ev := g.base(t, inst, "cloudtrail", "aws:s3", "s3:GetObject",
			fmt.Sprintf("%s/events/dt=%s/part-%05d.parquet", lake, d, i/len(days)), "AWS::S3::Object")
		ev.Bytes = int64(8<<20 + g.r.IntN(56<<20))
		g.outcome(&ev, 0.003, 0, "SlowDown", "")
		g.emit(ev)
	}
	t = g.step(t, 10*time.Second, time.Minute)
	ev := g.base(t, inst, "cloudtrail", "aws:s3", "s3:PutObject", lake+"/"+report, "AWS::S3::Object")
	ev.Bytes = int64(1<<20 + g.r.IntN(8<<20))
	g.emit(ev)
}

// sales: look a contact up, send them a templated e-mail; read leads; now
// and then edit a template or read an opportunity.
func (g *agentGen) sales(hs time.Time) {
	for range poisson(g.r, g.rate(hs, 15, &salesProfile, 0)) {
		t := g.at(hs, 58*time.Minute)
		inst := g.inst(t)
		contact := fmt.Sprintf("003%07d", 1+g.r.IntN(20000))
		ev := g.base(t, inst, "mcp", "mcp:salesforce", "tools/call:get_contact", "salesforce://contacts/"+contact, "contact")
		g.emit(ev)
		t = g.step(t, 5*time.Second, 40*time.Second)
		ev = g.base(t, inst, "mcp", "mcp:sendgrid", "tools/call:send_email", recipient(g, contact), "email")
		g.outcome(&ev, 0.015, 0, "bounced", "")
		ev.Attributes = map[string]string{"sendgrid.template": fmt.Sprintf("d-%02d", 1+g.r.IntN(6))}
		g.emit(ev)
		if g.chance(0.05) {
			t = g.step(t, time.Second, 10*time.Second)
			g.emit(g.base(t, inst, "mcp", "mcp:salesforce", "tools/call:update_contact", "salesforce://contacts/"+contact, "contact"))
		}
	}
	for range poisson(g.r, g.rate(hs, 3, &salesProfile, 0)) {
		t := g.at(hs, time.Hour)
		g.emit(g.base(t, g.inst(t), "mcp", "mcp:salesforce", "tools/call:get_lead",
			fmt.Sprintf("salesforce://leads/00Q%07d", g.r.IntN(9000)), "lead"))
	}
	if !isWeekend(hs) && salesProfile[hs.Hour()] > 0 {
		if g.chance(0.5 / 10) {
			t := g.at(hs, time.Hour)
			g.emit(g.base(t, g.inst(t), "mcp", "mcp:salesforce", "tools/call:get_opportunity",
				fmt.Sprintf("salesforce://opportunities/006%07d", g.r.IntN(3000)), "opportunity"))
		}
		if hs.Weekday() == time.Tuesday && hs.Hour() == 10 {
			t := g.at(hs, time.Hour)
			g.emit(g.base(t, g.inst(t), "mcp", "mcp:sendgrid", "tools/call:update_template",
				fmt.Sprintf("sendgrid://templates/d-%02d", 1+g.r.IntN(6)), "template"))
		}
	}
}

var (
	firstNames = []string{"ana", "ben", "chloe", "dev", "emma", "farid", "grace", "hiro", "ines", "jon", "kemal", "lena", "marta", "noah", "olga", "priya"}
	lastNames  = []string{"silva", "meyer", "dubois", "patel", "rossi", "kowalski", "nguyen", "okafor", "larsen", "garcia", "tanaka", "novak"}
	companies  = []string{"globex", "initech", "umbrella-retail", "hooli", "vandelay", "wonka-foods", "stark-logistics", "acme-partners", "tyrell-labs", "soylent-co"}
)

func recipient(g *agentGen, contact string) string {
	h := hash32(contact)
	return fmt.Sprintf("mailto:%s.%s@%s.example", firstNames[h%16], lastNames[(h/16)%12], companies[(h/192)%10])
}

// ops: health checks around the clock; now and then a restart of an
// unhealthy service driven by a PagerDuty incident; rarely a node cordon or
// a database reboot.
func (g *agentGen) ops(hs time.Time) {
	for range poisson(g.r, g.rate(hs, 18, &opsProfile, weekendFor(KindOps))) {
		t := g.at(hs, time.Hour)
		inst := g.inst(t)
		switch x := g.r.IntN(3); x {
		case 0:
			g.emit(g.base(t, inst, "cloudtrail", "aws:cloudwatch", "cloudwatch:GetMetricData", alarmARN(services[g.r.IntN(len(services))]), "AWS::CloudWatch::Alarm"))
		case 1:
			g.emit(g.base(t, inst, "cloudtrail", "aws:cloudwatch", "cloudwatch:DescribeAlarms", alarmARN(services[g.r.IntN(len(services))]), "AWS::CloudWatch::Alarm"))
		default:
			ev := g.base(t, inst, "k8s", "k8s", "k8s:list pods", "prod/pods", "pods")
			g.a.k8sIdentity(&ev, t)
			g.emit(ev)
		}
	}
	if g.chance(1.3 / 24 * opsProfile[hs.Hour()]) {
		g.restart(g.at(hs, 45*time.Minute))
	}
	if g.chance(0.08 / 24) {
		t := g.at(hs, time.Hour)
		ev := g.base(t, g.inst(t), "k8s", "k8s", "k8s:patch nodes", fmt.Sprintf("nodes/ip-10-0-%d-%d", g.r.IntN(8), 10+g.r.IntN(200)), "nodes")
		g.a.k8sIdentity(&ev, t)
		ev.Attributes = map[string]string{"k8s.change_cause": "cordon"}
		g.emit(ev)
	}
	if g.chance(0.03 / 24) {
		t := g.at(hs, time.Hour)
		g.emit(g.base(t, g.inst(t), "cloudtrail", "aws:rds", "rds:RebootDBInstance",
			"arn:aws:rds:eu-west-1:"+awsAccount+":db:orders-replica-1", "AWS::RDS::DBInstance"))
	}
}

func alarmARN(svc string) string {
	return "arn:aws:cloudwatch:eu-west-1:" + awsAccount + ":alarm:" + svc + "-5xx-rate"
}

func (g *agentGen) restart(t time.Time) {
	inst := g.inst(t)
	svc := services[g.r.IntN(len(services))]
	incident := fmt.Sprintf("pagerduty://incidents/Q%06X", g.r.Uint32()&0xffffff)
	g.emit(g.base(t, inst, "mcp", "mcp:pagerduty", "tools/call:get_incident", incident, "incident"))
	k := func(verb, res, rtype string) {
		t = g.step(t, time.Second, 20*time.Second)
		ev := g.base(t, inst, "k8s", "k8s", verb, res, rtype)
		g.a.k8sIdentity(&ev, t)
		g.outcome(&ev, 0.01, 0, "500 InternalError", "")
		g.emit(ev)
	}
	pod := fmt.Sprintf("%s-%s", svc, lowerID(fmt.Sprint(svc, t.Unix()/86400), 5))
	k("k8s:get pods/log", "prod/pods/"+pod+"/log", "pods")
	k("k8s:get deployments", "prod/deployments/"+svc, "deployments.apps")
	k("k8s:patch deployments", "prod/deployments/"+svc, "deployments.apps")
	for range 2 + g.r.IntN(3) {
		k("k8s:list pods", "prod/pods", "pods")
	}
	t = g.step(t, 30*time.Second, 3*time.Minute)
	ev := g.base(t, inst, "mcp", "mcp:pagerduty", "tools/call:add_note", incident, "incident")
	g.emit(ev)
}
