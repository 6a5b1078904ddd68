# The federation root: one ECDSA P-256 key and a self-signed CA certificate. Only the certificate is
# distributed; each cluster's intermediate is signed from it (see README for why that step is not done here).

resource "tls_private_key" "root" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"
}

resource "tls_self_signed_cert" "root" {
  private_key_pem = tls_private_key.root.private_key_pem

  subject {
    common_name  = var.common_name
    organization = var.organization
  }

  is_ca_certificate     = true
  validity_period_hours = var.validity_hours
  allowed_uses          = ["cert_signing", "crl_signing"]
}
