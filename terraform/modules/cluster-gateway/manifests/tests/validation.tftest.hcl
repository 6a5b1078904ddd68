# Inputs the gateway (or Kubernetes) would refuse only at run time, in a crash-looping pod, are refused at plan time
# with a message that says what to do. Each run changes one input of a valid baseline; the first run is the
# positive control. Run offline: `terraform init && terraform test` here (no provider); the test suite does it
# (io.isthmus.integration.terraform.TerraformModuleTest).

variables {
  image                        = "registry.example/isthmus/federation-gateway:0.1.0"
  cluster_name                 = "aws-east"
  trust_domain                 = "aws-east.acme.internal"
  root_certificate_pem         = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  intermediate_certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  intermediate_private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
  public_address               = "gw.aws-east.example"
  peers = {
    gcp-west = {
      trust_domain         = "gcp-west.acme.internal"
      bundle_endpoint_url  = "https://gw.gcp-west.example:8443/"
      cross_site_addresses = ["gw.gcp-west.example:7900"]
    }
  }
}

run "a_valid_baseline_plans" {
  command = plan
}

run "an_intermediate_from_an_existing_secret_plans" {
  command = plan
  variables {
    intermediate_certificate_pem = null
    intermediate_private_key_pem = null
    intermediate_secret          = { name = "aws-east-intermediate" }
  }
}

run "admin_token_shorter_than_32_characters" {
  command = plan
  variables {
    admin_token = "0123456789abcdef"
  }
  expect_failures = [var.admin_token]
}

run "peer_bundle_endpoint_not_https" {
  command = plan
  variables {
    peers = { gcp-west = { trust_domain = "gcp-west.acme.internal", bundle_endpoint_url = "http://gw.gcp-west.example:8443/" } }
  }
  expect_failures = [var.peers]
}

run "peer_named_like_this_cluster" {
  command = plan
  variables {
    peers = { aws-east = { trust_domain = "other.acme.internal", bundle_endpoint_url = "https://gw.other.example:8443/" } }
  }
  expect_failures = [var.peers]
}

run "peer_with_this_clusters_trust_domain" {
  command = plan
  variables {
    peers = { gcp-west = { trust_domain = "aws-east.acme.internal", bundle_endpoint_url = "https://gw.gcp-west.example:8443/" } }
  }
  expect_failures = [var.peers]
}

run "peer_name_not_a_dns_label" {
  command = plan
  variables {
    peers = { "GCP_West" = { trust_domain = "gcp-west.acme.internal", bundle_endpoint_url = "https://gw.gcp-west.example:8443/" } }
  }
  expect_failures = [var.peers]
}

run "peer_bridge_address_without_port" {
  command = plan
  variables {
    peers = { gcp-west = {
      trust_domain         = "gcp-west.acme.internal"
      bundle_endpoint_url  = "https://gw.gcp-west.example:8443/"
      cross_site_addresses = ["gw.gcp-west.example"]
    } }
  }
  expect_failures = [var.peers]
}

run "peer_endpoint_id_of_another_trust_domain" {
  command = plan
  variables {
    peers = { gcp-west = {
      trust_domain        = "gcp-west.acme.internal"
      bundle_endpoint_url = "https://gw.gcp-west.example:8443/"
      endpoint_spiffe_id  = "spiffe://onprem.acme.internal/ns/isthmus-system/sa/isthmus-gateway"
    } }
  }
  expect_failures = [var.peers]
}

run "port_below_1024" {
  command = plan
  variables {
    ports = { ingress = 443 }
  }
  expect_failures = [var.ports]
}

run "two_listeners_on_one_port" {
  command = plan
  variables {
    ports = { admin = 8443 }
  }
  expect_failures = [var.ports]
}

run "name_too_long_for_the_statefulset_revision_label" {
  command = plan
  variables {
    name = "isthmus-gateway-of-the-aws-east-cluster-in-us-east-1-prod"
  }
  expect_failures = [var.name]
}

run "namespace_not_a_dns_label" {
  command = plan
  variables {
    namespace = "Isthmus_System"
  }
  expect_failures = [var.namespace]
}

run "refresh_hint_not_a_duration" {
  command = plan
  variables {
    bundle_refresh_hint = "5 minutes"
  }
  expect_failures = [var.bundle_refresh_hint]
}

run "svid_ttl_not_a_duration" {
  command = plan
  variables {
    svid_ttl = "PT1H"
  }
  expect_failures = [var.svid_ttl]
}

run "public_address_empty" {
  command = plan
  variables {
    public_address = ""
  }
  expect_failures = [var.public_address]
}

run "image_not_pinned" {
  command = plan
  variables {
    image = "registry.example/isthmus/federation-gateway:latest"
  }
  expect_failures = [var.image]
}

run "image_without_tag_or_digest" {
  command = plan
  variables {
    image = "registry.example:5000/isthmus/federation-gateway"
  }
  expect_failures = [var.image]
}

run "intermediate_given_twice" {
  command = plan
  variables {
    intermediate_secret = { name = "aws-east-intermediate" }
  }
  expect_failures = [var.intermediate_secret]
}

run "intermediate_key_without_certificate" {
  command = plan
  variables {
    intermediate_certificate_pem = null
  }
  expect_failures = [var.intermediate_secret]
}

run "root_certificates_with_a_private_key" {
  command = plan
  variables {
    root_certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
  }
  expect_failures = [var.root_certificate_pem]
}

run "extra_config_key_the_gateway_does_not_read" {
  command = plan
  variables {
    extra_config = { "registry.site" = "x" }
  }
  expect_failures = [var.extra_config]
}

run "load_balancer_source_range_not_a_cidr" {
  command = plan
  variables {
    load_balancer = { source_ranges = ["203.0.113.7"] }
  }
  expect_failures = [var.load_balancer]
}

run "admin_api_on_a_nodeport" {
  command = plan
  variables {
    admin_access = { service_type = "NodePort" }
  }
  expect_failures = [var.admin_access]
}

run "admin_spiffe_id_without_scheme" {
  command = plan
  variables {
    admin_spiffe_ids = ["aws-east.acme.internal/ns/ops/sa/admin"]
  }
  expect_failures = [var.admin_spiffe_ids]
}

run "token_audience_list_empty" {
  command = plan
  variables {
    token_review_audiences = []
  }
  expect_failures = [var.token_review_audiences]
}
