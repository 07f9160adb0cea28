<?php
/**
 * A stand-in for the shop's My Account → Distributor centre, for the browser test:
 * served by `php -S`, it signs the customer given in the query string with the companion
 * plugin's signer and redirects to the portal, as the plugin's template_redirect does.
 * PORTAL_URL, PORTAL_SIGNIN_SECRET and SHOP_URL come from the environment.
 */

define( 'ABSPATH', __DIR__ );
require __DIR__ . '/../../plugins/woocommerce_bridge/wordpress/portal-bridge/includes/signin.php';

$customer = array(
	'id'     => isset( $_GET['id'] ) ? $_GET['id'] : '1',
	'email'  => isset( $_GET['email'] ) ? $_GET['email'] : '',
	'name'   => isset( $_GET['name'] ) ? $_GET['name'] : '',
	'locale' => isset( $_GET['locale'] ) ? $_GET['locale'] : 'en_US',
);
$claims   = portal_bridge_signin_claims( $customer, getenv( 'SHOP_URL' ), time(), portal_bridge_signin_nonce() );
header( 'Cache-Control: no-store' );
header( 'Location: ' . portal_bridge_signin_url( getenv( 'PORTAL_URL' ), portal_bridge_signin_token( $claims, getenv( 'PORTAL_SIGNIN_SECRET' ) ) ), true, 302 );
