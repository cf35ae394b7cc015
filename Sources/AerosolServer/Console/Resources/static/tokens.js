// The tokens page needs only the shared helpers (local times); revoking is a plain form.
import "./api.js";
