output "root_certificate_pem" {
  description = "The federation root certificate (PEM). Give it to every cluster-gateway module as root_certificate_pem."
  value       = tls_self_signed_cert.root.cert_pem
}

output "root_private_key_pem" {
  description = "The root private key (PEM). Sensitive: export it once to offline storage, sign intermediates with it offline, and keep this module's state in a locked-down backend."
  value       = tls_private_key.root.private_key_pem
  sensitive   = true
}
