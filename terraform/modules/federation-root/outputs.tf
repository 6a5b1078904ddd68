output "root_certificate_pem" {
  description = "The federation root certificate(s), PEM, concatenated: give it to every cluster-gateway module as root_certificate_pem."
  value       = local.root_certificate_pem
}

output "membership_json" {
  description = "The membership payload to sign offline with the root key (isthmus federation sign --payload); null when no clusters are listed."
  value       = length(var.clusters) > 0 ? module.membership[0].membership_json : null
}
