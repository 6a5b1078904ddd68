# One cluster of the example, applied from that cluster's own directory with its own state: the gateway (its peers
# and load balancer from ../federation) and the authorization policies that let the demo clients call across.

module "federation" {
  source = "../federation"
}

locals {
  self = module.federation.clusters[var.cluster_name]
}

module "gateway" {
  source = "../../../modules/cluster-gateway"

  name      = module.federation.gateway.name
  namespace = module.federation.gateway.namespace
  # Made (and labelled restricted) by the platform team before the intermediate's Secret is put in it: README step 2.
  create_namespace     = false
  image                = var.image
  cluster_name         = var.cluster_name
  trust_domain         = local.self.trust_domain
  root_certificate_pem = var.root_certificate_pem
  # The intermediate CA lives in a Secret made outside Terraform (see ../README.md): its key is never in this state.
  intermediate_secret = { name = var.intermediate_secret_name }
  locality            = { region = local.self.region, zone = local.self.zone }
  peers               = module.federation.peers[var.cluster_name]
  public_address      = local.self.public_host
  load_balancer       = module.federation.load_balancer[var.cluster_name]
  admin_access        = var.admin_access
  admin_spiffe_ids    = var.admin_spiffe_ids
}

# Federated traffic is denied unless a policy allows it; these allow what the README's smoke test calls.
resource "kubernetes_manifest" "policy" {
  for_each = fileset("${path.module}/../policies", "*.yaml")
  manifest = yamldecode(file("${path.module}/../policies/${each.value}"))

  depends_on = [module.gateway]
}
