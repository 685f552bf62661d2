//! OpenID Connect, authorization code flow with PKCE, as a relying party: provider
//! discovery, the authorization redirect, the code exchange, and ID token checks
//! (signature against the provider's published keys, issuer, audience, expiry,
//! nonce). Every call to the provider goes through the outbound client.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::core::outbound::{OutboundClient, OutboundError};

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the identity provider could not be reached: {0}")]
    Outbound(#[from] OutboundError),
    #[error("the identity provider answered {0}")]
    Provider(String),
    #[error("the ID token is not acceptable: {0}")]
    InvalidToken(String),
}

/// What discovery tells about a provider.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub userinfo_endpoint: Option<String>,
}

/// Fetches `{issuer}/.well-known/openid-configuration` and checks it names the
/// same issuer (OpenID Connect Discovery §4.3).
pub async fn discover(client: &OutboundClient, issuer: &str) -> Result<ProviderMetadata, OidcError> {
    let url = parse_url(&format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/')))?;
    let response = client.get(&url).await?;
    if !response.status().is_success() {
        return Err(OidcError::Provider(format!("{} to discovery", response.status())));
    }
    let metadata: ProviderMetadata = response
        .json()
        .await
        .map_err(|error| OidcError::Provider(format!("unreadable discovery document: {error}")))?;
    if metadata.issuer.trim_end_matches('/') != issuer.trim_end_matches('/') {
        return Err(OidcError::Provider("discovery names another issuer".into()));
    }
    Ok(metadata)
}

/// How long a provider's discovery document is reused.
const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Discovery documents by issuer, reused for a few minutes: an anonymous hit on
/// a sign-in link must not cost an outbound request each time.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryCache {
    documents:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, ProviderMetadata)>>>,
}

impl DiscoveryCache {
    pub async fn discover(&self, client: &OutboundClient, issuer: &str) -> Result<ProviderMetadata, OidcError> {
        let key = issuer.trim_end_matches('/').to_owned();
        if let Some((fetched, metadata)) = self.documents.lock().expect("never poisoned").get(&key)
            && fetched.elapsed() < DISCOVERY_TTL
        {
            return Ok(metadata.clone());
        }
        let metadata = discover(client, issuer).await?;
        let mut documents = self.documents.lock().expect("never poisoned");
        documents.retain(|_, (fetched, _)| fetched.elapsed() < DISCOVERY_TTL);
        documents.insert(key, (std::time::Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

fn parse_url(text: &str) -> Result<Url, OidcError> {
    Url::parse(text).map_err(|error| OidcError::Provider(format!("bad URL {text}: {error}")))
}

/// A random value for `state`, `nonce` or a PKCE verifier (256 bits, URL-safe).
pub fn random_value() -> String {
    crate::auth::tokens::generate_token().0
}

/// The PKCE S256 challenge for a verifier (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

pub struct AuthorizationRequest<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub state: &'a str,
    pub nonce: &'a str,
    pub code_verifier: &'a str,
}

/// Where to send the browser to sign in at the provider.
pub fn authorization_url(metadata: &ProviderMetadata, request: &AuthorizationRequest<'_>) -> Result<Url, OidcError> {
    let mut url = parse_url(&metadata.authorization_endpoint)?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", request.client_id)
        .append_pair("redirect_uri", request.redirect_uri)
        .append_pair("scope", "openid email profile")
        .append_pair("state", request.state)
        .append_pair("nonce", request.nonce)
        .append_pair("code_challenge", &pkce_challenge(request.code_verifier))
        .append_pair("code_challenge_method", "S256");
    Ok(url)
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: String,
    access_token: Option<String>,
}

/// UserInfo claims (OpenID Connect Core §5.3): providers may keep profile claims
/// out of the ID token and serve them here.
#[derive(Debug, Deserialize)]
struct UserInfo {
    sub: String,
    email: Option<String>,
    #[serde(default)]
    email_verified: bool,
    name: Option<String>,
}

/// The claims Portico uses from a verified ID token.
#[derive(Debug, Clone, Deserialize)]
pub struct IdentityClaims {
    pub sub: String,
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    pub name: Option<String>,
    pub nonce: Option<String>,
    /// How the provider authenticated the person (RFC 8176 values).
    #[serde(default)]
    pub amr: Vec<String>,
}

impl IdentityClaims {
    /// Whether the provider says the sign-in used more than one factor: `mfa`
    /// itself, or a method that is a second factor (one-time code, hardware or
    /// FIDO key, smart card).
    pub fn vouches_for_second_factor(&self) -> bool {
        const SECOND_FACTORS: [&str; 5] = ["mfa", "otp", "hwk", "fido", "sc"];
        self.amr.iter().any(|method| SECOND_FACTORS.contains(&method.as_str()))
    }
}

pub struct CodeExchange<'a> {
    pub client_id: &'a str,
    pub client_secret: &'a str,
    pub redirect_uri: &'a str,
    pub code: &'a str,
    pub code_verifier: &'a str,
    pub nonce: &'a str,
}

/// Trades the authorization code for tokens and returns the ID token's claims,
/// once its signature, issuer, audience, expiry and nonce all check out.
pub async fn exchange_code(
    client: &OutboundClient,
    metadata: &ProviderMetadata,
    exchange: &CodeExchange<'_>,
) -> Result<IdentityClaims, OidcError> {
    let token_url = parse_url(&metadata.token_endpoint)?;
    let response = client
        .request(reqwest::Method::POST, &token_url)?
        .basic_auth(exchange.client_id, Some(exchange.client_secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", exchange.code),
            ("redirect_uri", exchange.redirect_uri),
            ("code_verifier", exchange.code_verifier),
        ])
        .send()
        .await
        .map_err(OutboundError::from)?;
    if !response.status().is_success() {
        return Err(OidcError::Provider(format!("{} to the code exchange", response.status())));
    }
    let tokens: TokenResponse =
        response.json().await.map_err(|error| OidcError::Provider(format!("unreadable token response: {error}")))?;

    let header = decode_header(&tokens.id_token).map_err(|error| OidcError::InvalidToken(error.to_string()))?;
    // Only the provider's public keys may sign: never a shared-secret algorithm.
    if matches!(header.alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(OidcError::InvalidToken("symmetric signatures are not accepted".into()));
    }
    let keys: JwkSet = client
        .get(&parse_url(&metadata.jwks_uri)?)
        .await?
        .json()
        .await
        .map_err(|error| OidcError::Provider(format!("unreadable signing keys: {error}")))?;
    let key = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }
    .ok_or_else(|| OidcError::InvalidToken("signed with an unknown key".into()))?;
    let decoding_key = DecodingKey::from_jwk(key).map_err(|error| OidcError::InvalidToken(error.to_string()))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[metadata.issuer.as_str()]);
    validation.set_audience(&[exchange.client_id]);
    let claims = decode::<IdentityClaims>(&tokens.id_token, &decoding_key, &validation)
        .map_err(|error| OidcError::InvalidToken(error.to_string()))?
        .claims;
    let mut claims = claims;
    if claims.nonce.as_deref() != Some(exchange.nonce) {
        return Err(OidcError::InvalidToken("the nonce does not match this sign-in".into()));
    }
    if claims.email.is_none()
        && let (Some(userinfo_endpoint), Some(access_token)) = (&metadata.userinfo_endpoint, &tokens.access_token)
    {
        let userinfo: UserInfo = client
            .request(reqwest::Method::GET, &parse_url(userinfo_endpoint)?)?
            .bearer_auth(access_token)
            .send()
            .await
            .map_err(OutboundError::from)?
            .json()
            .await
            .map_err(|error| OidcError::Provider(format!("unreadable userinfo: {error}")))?;
        // §5.3.2: the UserInfo subject must be the ID token's, or the answer is ignored.
        if userinfo.sub != claims.sub {
            return Err(OidcError::InvalidToken("userinfo describes another subject".into()));
        }
        claims.email = userinfo.email;
        claims.email_verified = userinfo.email_verified;
        claims.name = claims.name.or(userinfo.name);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    #[test]
    fn pkce_challenge_matches_the_rfc_example() {
        assert_eq!(
            pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
