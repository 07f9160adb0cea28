<?php
/**
 * PHP-run unit test of the companion plugin's signer (includes/signin.php), run by
 * tests/integration/test_shop_signin.py with php-cli: checks the pieces, then prints the
 * token for the claims given as JSON in argv[2], signed with argv[1]; the Python side
 * verifies it with the portal's verifier. Exit 1 on a failed check.
 */

define( 'ABSPATH', __DIR__ );
require __DIR__ . '/../../plugins/woocommerce_bridge/wordpress/portal-bridge/includes/signin.php';

function check( $ok, $what ) {
	if ( ! $ok ) {
		fwrite( STDERR, "FAILED: $what\n" );
		exit( 1 );
	}
}

// base64url: no padding, no + or /.
check( '-__8' === portal_bridge_b64url( "\xfb\xff\xfc" ), 'base64url alphabet' );
check( 'YQ' === portal_bridge_b64url( 'a' ), 'base64url without padding' );
// A nonce the portal takes: 32 hex digits, new each time.
$nonce = portal_bridge_signin_nonce();
check( 1 === preg_match( '/^[0-9a-f]{32}$/', $nonce ), 'nonce shape' );
check( $nonce !== portal_bridge_signin_nonce(), 'nonces differ' );
// Claims: two minutes, ref only when there is one.
$customer = array( 'id' => 7, 'email' => 'a@b.example', 'name' => 'Lin', 'locale' => 'zh_CN' );
$claims   = portal_bridge_signin_claims( $customer, 'https://shop.example/', 1000, $nonce );
check( 1120 === $claims['exp'] && 1000 === $claims['iat'], 'lifetime 120 s' );
check( '7' === $claims['sub'], 'customer id as text' );
check( ! isset( $claims['ref'] ), 'no ref without one' );
check( 'ABC234' === portal_bridge_signin_claims( $customer, 's', 1, $nonce, 'ABC234' )['ref'], 'ref' );
// No secret, no token; a token is three base64url parts and its HMAC is the header.claims'.
check( '' === portal_bridge_signin_token( $claims, '' ), 'no token without a secret' );
$token = portal_bridge_signin_token( $claims, 's3cret' );
$parts = explode( '.', $token );
check( 3 === count( $parts ), 'three parts' );
$expected = portal_bridge_b64url( hash_hmac( 'sha256', $parts[0] . '.' . $parts[1], 's3cret', true ) );
check( hash_equals( $expected, $parts[2] ), 'HMAC-SHA256 over header.claims' );
check( array( 'alg' => 'HS256', 'typ' => 'JWT' ) === json_decode( base64_decode( strtr( $parts[0], '-_', '+/' ) ), true ), 'header' );
check( 'https://portal.example/woocommerce/signin?token=a.b%2Bc' === portal_bridge_signin_url( 'https://portal.example/', 'a.b+c' ), 'url' );

if ( $argc >= 3 ) {
	$given = json_decode( $argv[2], true );
	$now   = isset( $given['now'] ) ? (int) $given['now'] : time();
	$claims = portal_bridge_signin_claims( $given, $given['shop'], $now, portal_bridge_signin_nonce(), isset( $given['ref'] ) ? $given['ref'] : '' );
	echo portal_bridge_signin_token( $claims, $argv[1] );
}
