# A throwaway federation root for demos and tests: the key is generated here and therefore stored, unencrypted, in
# this configuration's state and plan files. Never for a federation that carries real traffic: use
# `bin/isthmus ca init-root` offline and the parent module instead.

resource "tls_private_key" "root" {
  algorithm   = "ECDSA"
  ecdsa_curve = "P256"

  lifecycle {
    # Destroying (or replacing) the key mints a new root that no intermediate chains to: every cluster stops
    # verifying every other. Remove it from the state deliberately if that is really meant.
    prevent_destroy = true
  }
}

resource "tls_self_signed_cert" "root" {
  private_key_pem = tls_private_key.root.private_key_pem

  subject {
    common_name  = var.common_name
    organization = var.organization
  }

  is_ca_certificate = true
  # Root -> cluster intermediate -> SVID: one CA below the root, as the CLI's root says too.
  max_path_length = 1
  # RFC 5280 4.2.1.2: CA certificates carry a subject key identifier (intermediates name it as their issuer's).
  set_subject_key_id    = true
  validity_period_hours = var.validity_hours
  # A plan within this window before expiry shows the certificate's replacement, instead of it happening silently
  # after expiry; rotate (publish the new root next to the old one) before applying it.
  early_renewal_hours = var.early_renewal_hours
  allowed_uses        = ["cert_signing", "crl_signing"]

  lifecycle {
    prevent_destroy = true
  }
}
