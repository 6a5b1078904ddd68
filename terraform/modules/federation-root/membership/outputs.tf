output "membership_json" {
  description = "The membership payload (members only) to sign where the root key is kept: terraform output -raw membership_json > membership.json, then isthmus federation sign --payload membership.json ... --gateway <any member> (it takes the next version and spreads to every member)."
  value       = jsonencode({ members = local.members })
}
