output "root_certificate_pem" {
  description = "The federation root certificate(s), PEM, concatenated: give it to every cluster-gateway module as root_certificate_pem."
  value       = local.root_certificate_pem
}
