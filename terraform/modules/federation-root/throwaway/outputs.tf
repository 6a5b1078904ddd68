output "root_certificate_pem" {
  description = "The throwaway root certificate (PEM), for modules/federation-root's root_certificates_pem."
  value       = tls_self_signed_cert.root.cert_pem
}

output "root_private_key_pem" {
  description = "The throwaway root's private key (PEM): sign the clusters' intermediates with it (`bin/isthmus ca issue-intermediate`). It is in this state already; that is why this root is a throwaway."
  value       = tls_private_key.root.private_key_pem
  sensitive   = true
}
