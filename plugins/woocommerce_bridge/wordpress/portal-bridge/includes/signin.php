<?php
/**
 * "Sign in with the shop account": the assertion the portal's /woocommerce/signin reads.
 *
 * A JWT (RFC 7519) signed with HS256: base64url(header) "." base64url(claims) "."
 * base64url(HMAC-SHA256(secret, header "." claims)). Claims: iss (this shop's home URL),
 * sub (customer id), email, name, locale, iat, exp (120 s later), jti (a one-time nonce)
 * and, when the shop remembered one, ref (the referral code). The portal checks the
 * signature in constant time, the expiry, the nonce (once only) and the shop.
 *
 * Plain functions without WordPress calls, so tests/php/ can run them with php-cli.
 *
 * @package portal-bridge
 */

defined( 'ABSPATH' ) || exit;

const PORTAL_BRIDGE_SIGNIN_LIFETIME = 120;

/** base64url without padding (RFC 4648 §5), as JWT wants it. */
function portal_bridge_b64url( $bytes ) {
	return rtrim( strtr( base64_encode( $bytes ), '+/', '-_' ), '=' );
}

/**
 * The claims for one customer.
 *
 * @param array  $customer id, email, name, locale.
 * @param string $shop     This shop's home URL.
 * @param int    $now      Unix time.
 * @param string $nonce    Random, 16–64 of A-Za-z0-9_-.
 * @param string $ref      Referral code the shop remembered, or ''.
 */
function portal_bridge_signin_claims( array $customer, $shop, $now, $nonce, $ref = '' ) {
	$claims = array(
		'iss'    => (string) $shop,
		'sub'    => (string) $customer['id'],
		'email'  => (string) $customer['email'],
		'name'   => (string) $customer['name'],
		'locale' => (string) $customer['locale'],
		'iat'    => (int) $now,
		'exp'    => (int) $now + PORTAL_BRIDGE_SIGNIN_LIFETIME,
		'jti'    => (string) $nonce,
	);
	if ( '' !== $ref ) {
		$claims['ref'] = (string) $ref;
	}
	return $claims;
}

/** The signed token for these claims, or '' without a secret. */
function portal_bridge_signin_token( array $claims, $secret ) {
	if ( '' === (string) $secret ) {
		return '';
	}
	$flags   = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_INVALID_UTF8_SUBSTITUTE;
	$header  = portal_bridge_b64url( json_encode( array( 'alg' => 'HS256', 'typ' => 'JWT' ), $flags ) );
	$payload = portal_bridge_b64url( json_encode( $claims, $flags ) );
	$signed  = $header . '.' . $payload;
	return $signed . '.' . portal_bridge_b64url( hash_hmac( 'sha256', $signed, (string) $secret, true ) );
}

/** A fresh one-time nonce (32 hex digits). */
function portal_bridge_signin_nonce() {
	return bin2hex( random_bytes( 16 ) );
}

/** Where the portal takes the token: <portal>/woocommerce/signin?token=… */
function portal_bridge_signin_url( $portal, $token ) {
	return rtrim( (string) $portal, '/' ) . '/woocommerce/signin?token=' . rawurlencode( $token );
}
