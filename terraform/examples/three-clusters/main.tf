# Three clusters (AWS, GCP, on-prem), one gateway each, every gateway a peer of the two others. The root key
# never appears here: intermediates are signed offline and passed in.

locals {
  clusters = nonsensitive({ for name, c in var.clusters : name => {
    trust_domain = c.trust_domain
    public_host  = c.public_host
    region       = c.region
    zone         = c.zone
  } })

  # For each cluster, every other cluster as a peer.
  peers = {
    for name in keys(local.clusters) : name => {
      for other, c in local.clusters : other => {
        trust_domain         = c.trust_domain
        bundle_endpoint_url  = "https://${c.public_host}:8443/"
        endpoint_spiffe_id   = "spiffe://${c.trust_domain}/ns/isthmus-system/sa/isthmus-gateway"
        cross_site_addresses = ["${c.public_host}:7900"]
        # Who may vouch for callers at this cluster's ingress (the default, spelled out).
        gateway_ids = ["spiffe://${c.trust_domain}/ns/isthmus-system/sa/isthmus-gateway"]
      } if other != name
    }
  }
}

module "aws_east" {
  source    = "../../modules/cluster-gateway"
  providers = { kubernetes = kubernetes.aws_east }

  image                        = var.image
  cluster_name                 = "aws-east"
  trust_domain                 = local.clusters["aws-east"].trust_domain
  root_certificate_pem         = var.root_certificate_pem
  intermediate_certificate_pem = var.clusters["aws-east"].intermediate_certificate_pem
  intermediate_private_key_pem = var.clusters["aws-east"].intermediate_private_key_pem
  locality                     = { region = local.clusters["aws-east"].region, zone = local.clusters["aws-east"].zone }
  peers                        = local.peers["aws-east"]
  public_address               = local.clusters["aws-east"].public_host
  load_balancer_annotations    = { "service.beta.kubernetes.io/aws-load-balancer-type" = "nlb" }
}

module "gcp_west" {
  source    = "../../modules/cluster-gateway"
  providers = { kubernetes = kubernetes.gcp_west }

  image                        = var.image
  cluster_name                 = "gcp-west"
  trust_domain                 = local.clusters["gcp-west"].trust_domain
  root_certificate_pem         = var.root_certificate_pem
  intermediate_certificate_pem = var.clusters["gcp-west"].intermediate_certificate_pem
  intermediate_private_key_pem = var.clusters["gcp-west"].intermediate_private_key_pem
  locality                     = { region = local.clusters["gcp-west"].region, zone = local.clusters["gcp-west"].zone }
  peers                        = local.peers["gcp-west"]
  public_address               = local.clusters["gcp-west"].public_host
}

module "onprem" {
  source    = "../../modules/cluster-gateway"
  providers = { kubernetes = kubernetes.onprem }

  image                        = var.image
  cluster_name                 = "onprem"
  trust_domain                 = local.clusters["onprem"].trust_domain
  root_certificate_pem         = var.root_certificate_pem
  intermediate_certificate_pem = var.clusters["onprem"].intermediate_certificate_pem
  intermediate_private_key_pem = var.clusters["onprem"].intermediate_private_key_pem
  locality                     = { region = local.clusters["onprem"].region, zone = local.clusters["onprem"].zone }
  peers                        = local.peers["onprem"]
  public_address               = local.clusters["onprem"].public_host
  load_balancer_annotations    = { "metallb.universe.tf/address-pool" = "isthmus" }
}
