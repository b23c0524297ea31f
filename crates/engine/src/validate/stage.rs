//! What a stage's own rules see: the stage's path, its pipeline, the config's ports, and the
//! counter names the pipeline's stages have taken so far. Each stage checks its config in
//! its own file (`StageRun::check`), so a new stage brings its rules with it.

use super::{is_port, not_a_port, Report};
use crate::config::{EngineConfig, PipelineConfig};
use crate::net::{parse_mac, quote};

/// The context of one stage's check.
#[derive(Debug)]
pub struct StageCheck<'a> {
    /// Where problems go.
    pub report: &'a mut Report,
    /// The whole config (its ports).
    pub config: &'a EngineConfig,
    /// The stage's pipeline.
    pub pipeline: &'a PipelineConfig,
    /// The pipeline's path, `pipelines[i]`.
    pub pipeline_path: &'a str,
    /// The stage's path, `pipelines[i].stages[s]`.
    pub path: String,
    /// The stage's index in the pipeline.
    pub stage: usize,
    /// Counter names the pipeline's stages took so far, with the stage that took each.
    pub counter_names: &'a mut Vec<(String, usize)>,
}

impl StageCheck<'_> {
    /// `path.field`.
    pub fn at(&self, field: &str) -> String {
        format!("{}.{field}", self.path)
    }

    /// Records a problem with field `field` of the stage (`""`: the stage itself).
    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        let path = if field.is_empty() {
            self.path.clone()
        } else {
            self.at(field)
        };
        self.report.push(path, message);
    }

    /// Field `field` holds a MAC address.
    pub fn mac(&mut self, field: &str, text: &str) {
        if let Err(why) = parse_mac(text) {
            self.push(field, why);
        }
    }

    /// Field `field` names a port of the config.
    pub fn port(&mut self, field: &str, name: &str) {
        let path = self.at(field);
        if self.report.filled(&path, name) && !is_port(self.config, name) {
            self.report.push(path, not_a_port(self.config, name));
        }
    }

    /// Takes counter name `name` for this stage (field `field`): refused if an earlier
    /// stage of the pipeline has it, since counters are kept by name.
    pub fn counter_name(&mut self, field: &str, name: String) {
        if name.is_empty() {
            return;
        }
        if let Some((_, j)) = self.counter_names.iter().rev().find(|(n, _)| *n == name) {
            let j = *j;
            self.push(
                field,
                format!(
                    "{} already names stages[{j}]; counters are kept by name",
                    quote(&name)
                ),
            );
        }
        self.counter_names.push((name, self.stage));
    }
}
