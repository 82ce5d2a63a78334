// Shared test setup. Tests run against real crypto and real stores; the only
// global here is a quieter logger for expected warnings.
process.env.LIME_LOG_LEVEL ??= "warn";
