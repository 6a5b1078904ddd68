# Deploys one cluster's Isthmus gateway: computes the objects (./manifests, provider-free and tested offline)
# and applies them with the kubernetes provider, CRDs first.

module "manifests" {
  source = "./manifests"

  name                         = var.name
  namespace                    = var.namespace
  cluster_domain               = var.cluster_domain
  image                        = var.image
  replicas                     = var.replicas
  cluster_name                 = var.cluster_name
  trust_domain                 = var.trust_domain
  root_certificate_pem         = var.root_certificate_pem
  intermediate_certificate_pem = var.intermediate_certificate_pem
  intermediate_private_key_pem = var.intermediate_private_key_pem
  peers                        = var.peers
  ports                        = var.ports
  locality                     = var.locality
  bundle_refresh_hint          = var.bundle_refresh_hint
  svid_ttl                     = var.svid_ttl
  extra_config                 = var.extra_config
  load_balancer_annotations    = var.load_balancer_annotations
  resources                    = var.resources
  public_address               = var.public_address
  admin_token                  = var.admin_token
  admin_spiffe_ids             = var.admin_spiffe_ids
}

resource "kubernetes_manifest" "crd" {
  for_each = module.manifests.crds
  manifest = each.value
}

resource "kubernetes_manifest" "namespace" {
  manifest = nonsensitive(module.manifests.objects.namespace)
}

resource "kubernetes_manifest" "object" {
  # The Namespace is applied on its own first; everything else lives in it or refers to it.
  for_each = toset([for k in nonsensitive(keys(module.manifests.objects)) : k if k != "namespace"])
  manifest = module.manifests.objects[each.key]

  depends_on = [kubernetes_manifest.crd, kubernetes_manifest.namespace]
}
