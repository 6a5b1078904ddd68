# The intermediate's rotation by generation, step by step (README: Rotating the intermediate), and the bad sequences
# refused at plan time. Each step asserts what the gateway's CA Secret holds and that the pod template is the one of
# the step before: a step that changes only trust files rolls no pod (the running gateway reloads them; a restarted
# one would sign with the new intermediate before any peer holds it). Run offline: `terraform init && terraform test`.
#
# The certificates here are stand-ins: base64 whose bytes carry what the module looks for, the DER of a URI name
# constraint (its tag 0x86, its length byte 0x16 = 22, then the trust domain). TerraformModuleTest renders the same
# steps with real intermediates from a test CA and loads each through the gateway's own loader.

variables {
  image                = "registry.example/isthmus/federation-gateway:0.1.0"
  cluster_name         = "aws-east"
  trust_domain         = "aws-east.acme.internal"
  public_address       = "gw.aws-east.example"
  root_certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
  intermediate_generations = {
    "2025-06" = {
      certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
      private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
    }
  }
  active_intermediate_generation = "2025-06"
}

run "step_0_one_generation_in_force" {
  command = plan
  assert {
    condition     = base64decode(output.secrets.ca_secret.data["intermediate.pem"]) == var.intermediate_generations["2025-06"].certificate_pem
    error_message = "The CA Secret must hold the active generation's certificate."
  }
  assert {
    condition     = output.intermediate_generation == { active = "2025-06", other = null }
    error_message = "The output must name the active generation."
  }
}

run "step_1_the_next_generation_is_added_next_to_the_active_one_and_nothing_in_the_cluster_changes" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-01 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026\n-----END PRIVATE KEY-----\n"
      }
    }
  }
  assert {
    condition     = output.secrets.ca_secret == run.step_0_one_generation_in_force.secrets.ca_secret
    error_message = "Adding a generation must not change the CA Secret: the gateway keeps signing with the active one."
  }
  assert {
    condition     = output.objects == run.step_0_one_generation_in_force.objects
    error_message = "Adding a generation must not change any object."
  }
  assert {
    condition     = output.intermediate_generation == { active = "2025-06", other = "2026-01" }
    error_message = "The output must name the active and the next generation."
  }
}

run "step_2_the_switch_changes_the_ca_secrets_content_and_rolls_no_pod" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-01 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026\n-----END PRIVATE KEY-----\n"
      }
    }
    active_intermediate_generation = "2026-01"
  }
  assert {
    condition     = base64decode(output.secrets.ca_secret.data["intermediate.pem"]) == var.intermediate_generations["2026-01"].certificate_pem && base64decode(output.secrets.ca_secret.data["intermediate.key"]) == var.intermediate_generations["2026-01"].private_key_pem
    error_message = "After the switch the CA Secret must hold the new generation's certificate and key."
  }
  assert {
    condition     = output.secrets.ca_secret.data["root.pem"] == run.step_1_the_next_generation_is_added_next_to_the_active_one_and_nothing_in_the_cluster_changes.secrets.ca_secret.data["root.pem"]
    error_message = "The switch must leave the roots alone."
  }
  assert {
    condition     = output.objects.stateful_set == run.step_1_the_next_generation_is_added_next_to_the_active_one_and_nothing_in_the_cluster_changes.objects.stateful_set
    error_message = "The switch must not change the StatefulSet (its pod template): the gateway reloads the CA files, a restart would activate the new intermediate before peers hold it."
  }
  assert {
    condition     = output.objects == run.step_1_the_next_generation_is_added_next_to_the_active_one_and_nothing_in_the_cluster_changes.objects
    error_message = "The switch must change no object but the CA Secret."
  }
}

run "step_3_the_old_generation_is_dropped_and_nothing_in_the_cluster_changes" {
  command = plan
  variables {
    intermediate_generations = {
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-01 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026\n-----END PRIVATE KEY-----\n"
      }
    }
    active_intermediate_generation = "2026-01"
  }
  assert {
    condition     = output.secrets.ca_secret == run.step_2_the_switch_changes_the_ca_secrets_content_and_rolls_no_pod.secrets.ca_secret
    error_message = "Dropping the old generation must not change the CA Secret."
  }
  assert {
    condition     = output.objects == run.step_2_the_switch_changes_the_ca_secrets_content_and_rolls_no_pod.objects
    error_message = "Dropping the old generation must not change any object."
  }
}

run "moving_from_the_inline_pair_to_generations_changes_nothing" {
  command = plan
  variables {
    intermediate_generations       = {}
    active_intermediate_generation = null
    intermediate_certificate_pem   = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
    intermediate_private_key_pem   = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
  }
  assert {
    condition     = output.secrets.ca_secret == run.step_0_one_generation_in_force.secrets.ca_secret && output.objects == run.step_0_one_generation_in_force.objects
    error_message = "The inline pair and the same intermediate as the one generation must render the same objects."
  }
}

# ---- refused ----

run "switching_to_a_generation_that_was_not_added" {
  command = plan
  variables {
    active_intermediate_generation = "2026-01"
  }
  expect_failures = [var.active_intermediate_generation]
}

run "generations_without_an_active_one" {
  command = plan
  variables {
    active_intermediate_generation = null
  }
  expect_failures = [var.active_intermediate_generation]
}

run "an_active_generation_without_generations" {
  command = plan
  variables {
    intermediate_generations     = {}
    intermediate_certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    intermediate_private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
  }
  expect_failures = [var.active_intermediate_generation]
}

run "a_third_generation_before_the_previous_one_was_dropped" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-01 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026\n-----END PRIVATE KEY-----\n"
      }
      "2026-07" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-07 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026b\n-----END PRIVATE KEY-----\n"
      }
    }
    active_intermediate_generation = "2026-01"
  }
  expect_failures = [var.intermediate_generations]
}

run "the_active_intermediate_listed_again_as_the_next_generation" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026\n-----END PRIVATE KEY-----\n"
      }
    }
  }
  expect_failures = [var.intermediate_generations]
}

run "a_next_generation_reusing_the_active_ones_key" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-01 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
    }
  }
  expect_failures = [var.intermediate_generations]
}

run "a_next_generation_for_another_trust_domain" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-01 \u0086\u0016gcp-west.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026\n-----END PRIVATE KEY-----\n"
      }
    }
  }
  expect_failures = [var.intermediate_generations]
}

run "a_next_generation_for_a_longer_trust_domain_ending_in_this_one" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
      "2026-01" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2026-01 \u0086\u0019us-aws-east.acme.internal")}\n-----END CERTIFICATE-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2026\n-----END PRIVATE KEY-----\n"
      }
    }
  }
  expect_failures = [var.intermediate_generations]
}

run "a_generation_with_its_key_in_the_certificate_field" {
  command = plan
  variables {
    intermediate_generations = {
      "2025-06" = {
        certificate_pem = "-----BEGIN CERTIFICATE-----\n${base64encode("generation 2025-06 \u0086\u0016aws-east.acme.internal")}\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
        private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB2025\n-----END PRIVATE KEY-----\n"
      }
    }
  }
  expect_failures = [var.intermediate_generations]
}

run "generations_together_with_the_inline_pair" {
  command = plan
  variables {
    intermediate_certificate_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    intermediate_private_key_pem = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
  }
  expect_failures = [var.intermediate_secret]
}

run "generations_together_with_an_existing_secret" {
  command = plan
  variables {
    intermediate_secret = { name = "aws-east-intermediate" }
  }
  expect_failures = [var.intermediate_secret]
}
