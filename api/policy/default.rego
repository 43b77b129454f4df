# Default policy for mutations through the tenantctl API (tenantctl serve). Every production
# mutation (up, destroy, refresh, drift remediation apply) is decided here before it runs; the
# decision and its reasons are written to the audit log. Replace it with `tenantctl serve
# --policy-dir DIR`: DIR's *.rego files must define data.tenantctl.authz.decision as
# {"allow": bool, "reasons": [string]}. Anything else, or an evaluation error, denies.
#
# Input (see docs/api.md):
#   principal   {subject, issuer, tenantId, clientId, scopes: [string]}
#   tenant      {id, tier}
#   environment {name, production: bool}
#   operation   "up" | "destroy" | "refresh" | "drift.remediate"
#   plan        {changes: {create: n, update: n, ...}, creates, updates, deletes, replaces, total}
#   request     {ticket, reason}
package tenantctl.authz

production_scope := "runtime.deployments.prod"

cross_tenant_scope := "runtime.tenants.all"

# A change ticket such as CHG-1234 or OPS-17.
ticket_pattern := `^[A-Z][A-Z0-9]{1,9}-[0-9]{1,9}$`

production if input.environment.production == true

deny contains "the principal lacks the runtime.deployments.prod scope" if {
	production
	not production_scope in input.principal.scopes
}

deny contains "a change ticket (request.ticket, e.g. CHG-1234) is required" if {
	production
	not regex.match(ticket_pattern, object.get(input, ["request", "ticket"], ""))
}

deny contains "the plan summary is missing" if {
	production
	not is_object(input.plan)
}

deny contains "destroying a production tenant is reserved to platform operators (runtime.tenants.all)" if {
	production
	input.operation == "destroy"
	not cross_tenant_scope in input.principal.scopes
}

deny contains msg if {
	production
	input.operation != "destroy"
	removed := object.get(input, ["plan", "deletes"], 0) + object.get(input, ["plan", "replaces"], 0)
	removed > 0
	object.get(input, ["request", "reason"], "") == ""
	msg := sprintf("the plan deletes or replaces %d resource(s): say why in request.reason", [removed])
}

default allow := false

allow if count(deny) == 0

reasons := deny if {
	count(deny) > 0
} else := {"production change with ticket and scope"} if {
	production
} else := {"not a production environment"}

decision := {"allow": allow, "reasons": sort(reasons)}
