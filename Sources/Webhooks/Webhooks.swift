/// Webhook integrations: matching events to webhooks, rendering requests, and delivering them
/// reliably from a durable outbox. (Filled in by the webhooks work.)
public enum Webhooks {}
