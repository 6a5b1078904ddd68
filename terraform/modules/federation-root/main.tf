# The federation root as the clusters see it: its certificate(s), never its key. The key is made and kept offline
# (`bin/isthmus ca init-root` on an isolated machine, or an HSM/Vault/KMS-backed CA): a key Terraform generates sits
# unencrypted in its state and plan files, and Terraform cannot sign a certificate with an ephemeral key (the tls
# provider's certificate resources take the key as an ordinary, stored argument). For a throwaway federation (a demo,
# a test) ./throwaway does generate one, in state, and says so.

locals {
  # Two certificates while the root rotates: the new one next to the old one until nothing the old one signed is valid.
  root_certificate_pem = join("", [for pem in var.root_certificates_pem : endswith(pem, "\n") ? pem : "${pem}\n"])
}

# The membership document's payload, when the clusters are listed here (see ./membership and docs/membership.md).
module "membership" {
  source   = "./membership"
  count    = length(var.clusters) > 0 ? 1 : 0
  clusters = var.clusters
}
