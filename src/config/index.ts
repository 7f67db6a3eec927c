/**
 * Configuration shared by `run`, `chat`, `bench` and the server: `loadConfig` (config file +
 * `--env-file` + environment, validated), `selectModel`, and the alerts.yml loader.
 */
export {loadConfig, selectModel, CONFIG_ARCHITECTURES, type LoadConfigOptions} from './load.js'
export {
  DEFAULTS, ENVIRONMENTS, LOG_LEVELS, retryDelayMs,
  type AlertThresholds, type ConfigSources, type Environment, type LlmfragConfig, type LogLevel, type ModelEntry,
  type MonitoringConfig, type NetworkConfig, type ServerConfig,
} from './types.js'
export {ENV_VARS, readEnvOverrides, type Env, type EnvOverrides, type EnvVar} from './env.js'
export {parseEnvFile, readEnvFile} from './env-file.js'
export {validateConfigDocument} from './schema.js'
export {
  ALERT_METRICS, COMPARISONS, SEVERITIES, conditionHolds, loadAlerts, parseAlerts, parseCondition, thresholdRules,
  type AlertCondition, type AlertMetric, type AlertRule, type Comparison, type Severity,
} from './alerts.js'
