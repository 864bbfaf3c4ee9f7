import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { WebClient } from '@slack/web-api';
import { ChannelResolver } from '../../../packs/slack/channel-resolver.ts';
import { type FakeSlack, startFakeSlack } from '../../fakes/slack/index.ts';

let fake: FakeSlack;
let web: WebClient;
before(async () => {
  fake = await startFakeSlack();
  // More channels than one page holds, so the listing has to follow the cursor.
  for (let i = 0; i < 450; i++) fake.addChannel({ id: `C${1000 + i}`, name: `team-${i}` });
  fake.addChannel({ id: 'C0DEPLOYS', name: 'deploys', topic: 'releases' });
  web = new WebClient(fake.tokens.bot, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
});
after(async () => {
  await fake.close();
});

const listings = () => fake.requests.filter((request) => request.method === 'conversations.list').length;

test('ids pass through; names with or without # resolve through every page, cached', async () => {
  const resolver = new ChannelResolver(web);
  assert.equal(await resolver.resolve('C0DEPLOYS'), 'C0DEPLOYS');
  const before = listings();
  assert.equal(await resolver.resolve('#deploys'), 'C0DEPLOYS');
  assert.equal(await resolver.resolve('team-449'), 'C1449');
  assert.ok(listings() - before >= 3, 'followed the cursor over several pages');
  const afterFirst = listings();
  assert.deepEqual(await resolver.find('deploys'), { id: 'C0DEPLOYS', name: 'deploys', topic: 'releases' });
  assert.equal(listings(), afterFirst, 'a known name costs no call');
});

test('an unknown name refreshes the listing once, then fails with channel_not_found', async () => {
  const resolver = new ChannelResolver(web);
  await resolver.resolve('deploys');
  fake.addChannel({ id: 'C0NEW', name: 'brand-new' });
  assert.equal(await resolver.resolve('#brand-new'), 'C0NEW', 'a channel created since is found');
  await assert.rejects(resolver.resolve('#nowhere'), (error: { code?: string; message: string }) => {
    assert.equal(error.code, 'channel_not_found');
    assert.match(error.message, /#nowhere/);
    return true;
  });
});
