package detect

import "testing"

func TestCatalogueCategories(t *testing.T) {
	c, err := parseCatalogue("sensitive.txt", sensitiveData)
	if err != nil {
		t.Fatal(err)
	}
	for action, want := range map[string]string{
		"secretsmanager:GetSecretValue": "secret",
		"k8s:get secrets":               "secret",
		"k8s:list secrets":              "secret",
		"k8s:get pods":                  "",
		"iam:CreateAccessKey":           "iam",
		"k8s:create rolebindings":       "rbac",
		"tickets.read":                  "",
	} {
		if got := c.category(action); got != want {
			t.Errorf("category(%q) = %q, want %q", action, got, want)
		}
	}
	if _, err := parseCatalogue("x", "secret\n"); err == nil {
		t.Error("a line without a glob was accepted")
	}
	if _, err := parseCatalogue("x", "secrets k8s:get secrets\n"); err == nil {
		t.Error("an unknown category was accepted")
	}
}
